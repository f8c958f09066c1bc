// Command stepca-client: what ceremony's step-ca tests need from the step CLI, on the
// same Debian 12 Go packages as the CA (the step CLI itself is not packaged usably).
//
//	STEPPATH=D stepca-client init --password-file F --address A --dns N[,N]   a `step ca init --ssh` folder
//	stepca-client jwk   --name N --password-file F                         a JWK provisioner (JSON)
//	stepca-client x509  --ca-url U --root R --provisioner N --password-file F --subject S --cert OUT --key OUT
//	stepca-client ssh   --ca-url U --root R --provisioner N --password-file F --type user|host
//	                    --principal P --cert OUT
//
// x509 and ssh read the provisioner's encrypted key from the CA's /provisioners, decrypt
// it with the password and sign a one-time token, as `step ca certificate` does. An HTTP
// refusal prints the status and body and exits 3; other errors exit 1.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"unicode"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: stepca-client init|jwk|x509|ssh [flags]"))
	}
	cmds := map[string]func([]string) error{
		"init": cmdInit, "jwk": cmdJWK, "x509": cmdX509, "ssh": cmdSSH,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
	if err := run(os.Args[2:]); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "stepca-client:", err)
	if _, refused := err.(*refusal); refused {
		os.Exit(3)
	}
	os.Exit(1)
}

// readSecret reads a password file, trailing whitespace trimmed (as step does).
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return bytes.TrimRightFunc(b, unicode.IsSpace), nil
}

// required fails when any named string flag of fs was left empty.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			return fmt.Errorf("%s: --%s is required", fs.Name(), n)
		}
	}
	return nil
}
