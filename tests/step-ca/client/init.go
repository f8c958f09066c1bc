package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/smallstep/certificates/cas/apiv1"
	"github.com/smallstep/certificates/pki"
)

// cmdInit makes the folder `step ca init --ssh` makes (root, intermediate, SSH CA keys as
// password-protected files; ca.json, defaults.json) with step's own pki package, in
// $STEPPATH (which step reads when the program starts, so it must be set by the caller).
// Prints step's report, then the root fingerprint as the last line.
func cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ExitOnError)
	passFile := fs.String("password-file", "", "password for the private keys")
	address := fs.String("address", "", "address step-ca listens on")
	dns := fs.String("dns", "", "comma-separated DNS names of the CA")
	name := fs.String("name", "Phase 1", "name prefix of the CA certificates")
	fs.Parse(args)
	if err := required(fs, "password-file", "address", "dns"); err != nil {
		return err
	}
	if os.Getenv("STEPPATH") == "" {
		return fmt.Errorf("init: set STEPPATH to the new CA folder")
	}
	pass, err := readSecret(*passFile)
	if err != nil {
		return err
	}
	p, err := pki.New(apiv1.Options{Type: apiv1.SoftCAS, IsCreator: true},
		pki.WithAddress(*address), pki.WithDNSNames(strings.Split(*dns, ",")),
		pki.WithProvisioner("admin"), pki.WithSSH())
	if err != nil {
		return err
	}
	if err := p.GenerateKeyPairs(pass); err != nil {
		return err
	}
	root, err := p.GenerateRootCertificate(*name+" Root CA", "", "", pass)
	if err != nil {
		return err
	}
	if err := p.GenerateIntermediateCertificate(*name+" Intermediate CA", "", "", root, pass); err != nil {
		return err
	}
	if err := p.GenerateSSHSigningKeys(pass); err != nil {
		return err
	}
	if err := p.Save(); err != nil {
		return err
	}
	fmt.Println(p.GetRootFingerprint())
	return nil
}
