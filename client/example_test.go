package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"hearth/client"
)

// Example connects, joins a room (accepting its group agreement when the
// person agrees), sends a message and prints the room's events until the
// connection ends. It needs a running Hearth server and a token in
// HEARTH_TOKEN, so it has no Output line and is only compiled. (A real
// terminal client strips control characters from the server's text before
// printing it, as cmd/hearth does.)
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

	joined, err := c.Join(ctx, "demo", "Robin", nil)
	var se *client.ServerError
	if errors.As(err, &se) && se.Code == "agreement_required" {
		// Show the group agreement; join again once the person accepts it.
		// The server remembers the acceptance until the text changes.
		fmt.Println(se.Guidelines.Text)
		fmt.Print("Type yes to agree and join: ")
		var answer string
		if _, err := fmt.Scanln(&answer); err != nil || answer != "yes" {
			return
		}
		joined, err = c.Join(ctx, "demo", "Robin", &client.JoinOptions{Agree: se.Guidelines.Version})
	}
	if errors.As(err, &se) && strings.HasPrefix(se.Code, "name_") {
		log.Fatal(se.Message) // for example: someone in the group already uses that name
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members present:", len(joined.Members))

	if _, err := c.Send(ctx, "demo", "Hello everyone"); err != nil {
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
