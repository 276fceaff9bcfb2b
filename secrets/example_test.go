package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/secrets"
)

// A service run without a secrets backend takes its processor key from an
// embedded default, behind the same Source as a Vault credential.
func ExampleStatic() {
	ctx := context.Background()
	src, err := secrets.NewSource(ctx, "processor-key", secrets.Static(map[string]string{"api_key": "demo-key"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	key, err := src.Current()
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := key.Reveal("api_key")
	fmt.Println("fields:", key.Fields())
	fmt.Println("printed:", key)
	fmt.Println("revealed:", v)
	// Output:
	// fields: [api_key]
	// printed: [REDACTED]
	// revealed: demo-key
}

// An in-memory backend leases credentials like a Vault dynamic secrets
// engine; while it is down the Source serves what it has, then fails closed.
func ExampleMemory() {
	ctx := context.Background()
	backend, err := secrets.NewMemory(func() (map[string]string, error) {
		return map[string]string{"username": "app", "password": "s3cr3t"}, nil
	}, 200*time.Millisecond, time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := secrets.NewSource(ctx, "db", backend, secrets.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	cred, _ := src.Current()
	fmt.Println("renewable:", cred.Lease().Renewable, "valid:", backend.Valid(cred))

	backend.SetAvailable(false)
	for {
		updated := src.Updated()
		if _, err := src.Current(); err != nil {
			fmt.Println("expired:", errors.Is(err, secrets.ErrExpired), "backend down:", errors.Is(err, secrets.ErrUnavailable))
			break
		}
		<-updated
	}

	backend.SetAvailable(true)
	for {
		updated := src.Updated()
		if cred, err := src.Current(); err == nil {
			fmt.Println("recovered, valid:", backend.Valid(cred))
			break
		}
		<-updated
	}
	// Output:
	// renewable: true valid: true
	// expired: true backend down: true
	// recovered, valid: true
}
