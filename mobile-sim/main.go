// Command mobile-sim stands in for the qrlogin phone app in a terminal: it
// registers and logs in an account, decodes QR codes from screenshots, the
// screen or a camera, scans a desktop's QR code and approves or denies the
// log-in, answers enrolled desktops' one-tap login requests, and lists and
// revokes the account's desktop sessions, apps and enrolled desktops. See
// README.md beside this file for usage and exit codes.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
