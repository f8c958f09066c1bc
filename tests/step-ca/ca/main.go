// Command step-ca for ceremony's tests: smallstep's CA, built from Debian 12's
// golang-github-smallstep-certificates-dev (Debian ships the library packages but not
// the step-ca command). It runs the library's own "start" action with the key managers
// ceremonyd installs for: PKCS#11 (the intermediate and SSH CA keys on a token) and
// softkms (a Phase 1 folder whose keys are password-protected files).
//
// Usage: step-ca [--password-file FILE] <ca.json> (urfave/cli parses flags only before
// the configuration's path).
package main

import (
	"fmt"
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"
	"go.step.sm/cli-utils/step"

	// Registered for their side effects: each adds itself to the KMS or CAS registry.
	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/smallstep/certificates/kms/pkcs11"
	_ "github.com/smallstep/certificates/kms/softkms"
	_ "github.com/smallstep/certificates/kms/sshagentkms"
)

const version = "0.19.0"

func main() {
	// What the start-up log calls this program ("Starting Smallstep CA/0.19.0 ...").
	step.Set("Smallstep CA", version, "Debian 12 sources")
	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Usage = "smallstep's online certificate authority (test build for ceremony)"
	app.UsageText = commands.AppCommand.UsageText
	app.Version = version
	app.Flags = commands.AppCommand.Flags
	app.Action = commands.AppCommand.Action
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "step-ca:", err)
		os.Exit(1)
	}
}
