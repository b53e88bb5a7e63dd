package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"hearth/client"
)

// Example connects, joins a room, sends a message and prints the room's
// events until the connection ends. It needs a running Hearth server and a
// token in HEARTH_TOKEN, so it has no Output line and is only compiled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := client.Dial(ctx, "ws://localhost:8080/ws", os.Getenv("HEARTH_TOKEN"), nil)
	if err != nil {
		var de *client.DialError
		if errors.As(err, &de) && de.CloseStatus == 4401 {
			log.Fatal("the token was refused; get a new link")
		}
		log.Fatal(err)
	}
	defer c.Close()

	joined, err := c.Join(ctx, "demo", "Robin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members present:", len(joined.Members))

	if _, err := c.Send(ctx, "demo", "Hello everyone"); err != nil {
		var se *client.ServerError
		if errors.As(err, &se) && se.Code == "text_too_long" {
			log.Print("message too long")
		} else {
			log.Fatal(err)
		}
	}

	for ev := range c.Events() { // closed when the connection ends
		switch ev.Type {
		case client.TypeMessage:
			fmt.Printf("%s: %s\n", ev.From.DisplayName, ev.Text)
		case client.TypeMemberJoined:
			fmt.Printf("* %s joined\n", ev.Member.DisplayName)
		}
	}
	if client.Reconnect(c.CloseStatus()) {
		fmt.Println("connection lost; reconnect with backoff")
	}
}
