package main

import (
	"encoding/json"
	"flag"
	"fmt"

	"go.step.sm/crypto/jose"
)

// cmdJWK prints a JWK provisioner as ca.json holds it: the public key and the private
// key encrypted with the password (what `step ca provisioner add --type JWK` writes).
func cmdJWK(args []string) error {
	fs := flag.NewFlagSet("jwk", flag.ExitOnError)
	name := fs.String("name", "", "provisioner name")
	passFile := fs.String("password-file", "", "password that encrypts the private key")
	fs.Parse(args)
	if err := required(fs, "name", "password-file"); err != nil {
		return err
	}
	pass, err := readSecret(*passFile)
	if err != nil {
		return err
	}
	pub, priv, err := jose.GenerateDefaultKeyPair(pass)
	if err != nil {
		return err
	}
	encrypted, err := priv.CompactSerialize()
	if err != nil {
		return err
	}
	out, err := json.Marshal(map[string]interface{}{
		"type": "JWK", "name": *name, "key": pub, "encryptedKey": encrypted,
	})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
