// Command retriedmethods prints the full names of the RPCs the Go client
// retries, one a line, so Engram's tests can compare them with the contract
// and with the TypeScript and Python clients.
package main

import (
	"fmt"

	engram "github.com/engram-memory/engram/clients/go"
)

func main() {
	for _, method := range engram.RetriedMethods() {
		fmt.Println(method)
	}
}
