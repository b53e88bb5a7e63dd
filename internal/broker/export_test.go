package broker

// ClusterTag is roomTag on a cluster, for the tests of package broker_test:
// what follows "hearth:" in room's keys and ChannelPrefix in its channel.
func ClusterTag(room string) string { return roomTag(room, true) }
