package main

import (
	"context"
	"fmt"
	"image"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qrlogin/qrlogin/server/api"
)

// scanOpts are scan's flags beside -server and -profile.
type scanOpts struct {
	screen        bool
	camera        string
	timeout       time.Duration
	payload       string
	code          string // --code, canonical once check has run
	yes, deny     bool
	match         string
	file          string // the FILE argument, "-" for stdin
	stdinIsSource bool
}

// cmdScan scans a QR code from one source, a desktop's or a device's (a
// TV's verification_uri_complete), or takes a device's user code as typed
// (--code); shows what the server recorded about that desktop or device,
// and for a device the user code to compare with its screen; asks whether
// to log it in (unless --yes or --deny answers), asks for the desktop's
// code where the server requires it (unless --match answers), confirms,
// and prints the resulting state.
func cmdScan(e *env, args []string) error {
	f := newFlags("scan", "FILE | - | --screen | --camera DEVICE|CLIP.y4m | --payload TEXT | --code USER-CODE")
	var o scanOpts
	f.BoolVar(&o.screen, "screen", false, "scan the X11 screen of $DISPLAY")
	f.StringVar(&o.camera, "camera", "", "read frames from a camera `device` through ffmpeg (/dev/video0 on Linux) or from a YUV4MPEG2 clip (a file, or - for stdin)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long --camera looks for a code")
	f.StringVar(&o.payload, "payload", "", "the QR code's `text` itself, with no image")
	f.StringVar(&o.code, "code", "", "the user `code` a TV or other device shows (WDJB-MJHT), typed: approves its login on the profile's server")
	f.BoolVar(&o.yes, "yes", false, "approve without asking")
	f.BoolVar(&o.deny, "deny", false, "deny without asking")
	f.StringVar(&o.match, "match", "", "the `code` the desktop shows, where the server asks for it")
	pos, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if err := o.check(f, pos); err != nil {
		return err
	}
	p, _, err := loggedIn(f)
	if err != nil {
		return err
	}
	text, err := e.scanSource(o, pickServer(f.server, p))
	if err != nil {
		return err
	}
	sp, err := api.ParseAnyPayload(text) // scanSource checked it
	if err != nil {
		return withCode(exitNotPayload, "%v", err)
	}
	srv, err := scanServer(f.server, sp.Base, p)
	if err != nil {
		return err
	}
	m := newClient(srv).Mobile(p.DeviceToken, p.DeviceID)
	ctx := context.Background()
	resp, err := m.Scan(ctx, text)
	if err != nil {
		return err
	}
	e.showDesktop(resp)
	approve := e.decide(o, resp)
	req := api.ConfirmRequest{ScanToken: resp.ScanToken, Approve: &approve}
	if approve && resp.MatchRequired {
		if req.MatchCode, err = e.matchCode(f, o); err != nil {
			return err
		}
	}
	state, err := m.Confirm(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "state: %s\n", printable(string(state)))
	return nil
}

// check validates the command line: one source, one answer at most, and an
// answer given by flag when stdin carries the image.
func (o *scanOpts) check(f *cmdFlags, pos []string) error {
	n := len(pos)
	for _, set := range []bool{o.screen, o.camera != "", o.payload != "", o.code != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return f.usageErr("give exactly one source: FILE, - (stdin), --screen, --camera, --payload or --code")
	}
	if o.code != "" {
		code, ok := api.NormalizeUserCode(o.code)
		if !ok {
			return f.usageErr("--code %s is not a device's code: that is %d letters of %s, as in WDJB-MJHT",
				o.code, api.UserCodeLen, api.UserCodeAlphabet)
		}
		o.code = code
	}
	if len(pos) == 1 {
		o.file = pos[0]
	}
	if o.yes && o.deny {
		return f.usageErr("--yes and --deny contradict each other")
	}
	o.stdinIsSource = o.file == "-" || o.camera == "-"
	if o.stdinIsSource && !o.yes && !o.deny {
		return f.usageErr("the image comes on stdin, so answer with --yes or --deny")
	}
	if o.timeout <= 0 {
		return f.usageErr("--timeout must be positive")
	}
	return nil
}

// scanSource returns the qrlogin payload that o's source carries: for
// --code, the verification_uri_complete of that user code on codeServer
// (the server that the phone is logged in to), as if the device's QR code
// had been scanned.
func (e *env) scanSource(o scanOpts, codeServer string) (string, error) {
	switch {
	case o.code != "":
		return api.DevicePayload(codeServer, api.FormatUserCode(o.code)), nil
	case o.payload != "":
		return firstPayload("--payload", []string{o.payload})
	case o.camera != "":
		return e.readCamera(o.camera, o.timeout)
	}
	name, load := o.file, func() (image.Image, error) { return e.readImage(o.file) }
	if o.screen {
		name, load = screenName(), grabScreen
	}
	img, err := load()
	if err != nil {
		return "", err
	}
	found, err := texts(name, img)
	if err != nil {
		return "", err
	}
	return firstPayload(name, found)
}

// scanServer picks the server to send the scan to: -server if set, else the
// payload's. The device token is sent only to the server that issued it: a
// code of another server is refused unless -server says where to go.
func scanServer(flagServer, payloadBase string, p *Profile) (string, error) {
	if flagServer != "" {
		return flagServer, nil
	}
	if p.Server != "" && !sameServer(p.Server, payloadBase) {
		return "", fmt.Errorf("this QR code is for %s but the profile is logged in to %s: "+
			"not sending this phone's credentials there (pass -server to choose)", payloadBase, p.Server)
	}
	return payloadBase, nil
}

// sameServer reports whether two base URLs name the same server.
func sameServer(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

// showDesktop prints what the server recorded about the desktop, and its
// warning. A third-party app's login is said to be one, with the app's
// name, the scopes it asks for and where the browser returns; a device's
// (device grant) ends with its user code, set apart, for the person to
// check against the device's screen before approving.
func (e *env) showDesktop(r api.ScanResponse) {
	d := r.Desktop
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	if a := r.App; a != nil {
		where := "a device (" + printable(d.Name) + ")"
		if a.RedirectHost != "" {
			where = printable(a.RedirectHost)
		}
		fmt.Fprintf(e.stdout, "The app \"%s\" asks to log you in, and to see:\n", printable(a.Name))
		fmt.Fprintf(tw, "  %s\t%s\n", "Scopes", printable(strings.Join(a.Scopes, " ")))
		fmt.Fprintf(tw, "  %s\t%s\n", "Returns to", where)
		tw.Flush()
		fmt.Fprintln(e.stdout, "from this browser or device:")
	} else {
		fmt.Fprintln(e.stdout, "A desktop asks to log in to your account:")
	}
	for _, row := range [][2]string{
		{"Device", d.Name}, {"OS", d.OS}, {"App", d.App}, {"IP", d.IP},
		{"User agent", d.UserAgent}, {"Asked", ago(e.now().Sub(d.CreatedAt))},
	} {
		if row[1] == "" {
			row[1] = "(not given)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], printable(row[1]))
	}
	tw.Flush()
	if r.Warning != "" {
		fmt.Fprintf(e.stdout, "Warning: %s\n", printable(r.Warning))
	}
	if code := deviceCode(r); code != "" {
		fmt.Fprintf(e.stdout, "\n    Check that the TV shows %s\n\n", code)
	}
}

// deviceCode is the user code of a device grant's scan, printable; "" for
// any other login.
func deviceCode(r api.ScanResponse) string {
	if r.App == nil || r.App.UserCode == "" {
		return ""
	}
	return printable(r.App.UserCode)
}

// decide returns the answer of --yes or --deny, else asks on stdin; anything
// but y or yes, the end of input included, is no.
func (e *env) decide(o scanOpts, r api.ScanResponse) bool {
	if o.yes || o.deny {
		return o.yes
	}
	if code := deviceCode(r); code != "" {
		fmt.Fprintf(e.stderr, "Does the TV show %s? Log in to %s there? [y/N] ", code, printable(r.App.Name))
	} else if r.App != nil {
		fmt.Fprintf(e.stderr, "Log in to %s? [y/N] ", printable(r.App.Name))
	} else {
		fmt.Fprint(e.stderr, "Log in on this desktop? [y/N] ")
	}
	answer, _ := e.readLine()
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}

// matchCode returns --match, else asks on stdin for the code that the
// desktop shows.
func (e *env) matchCode(f *cmdFlags, o scanOpts) (string, error) {
	if o.match != "" {
		return o.match, nil
	}
	if !o.stdinIsSource {
		fmt.Fprint(e.stderr, "Type the code shown on the desktop: ")
		if code, _ := e.readLine(); strings.TrimSpace(code) != "" {
			return strings.TrimSpace(code), nil
		}
	}
	return "", f.usageErr("this desktop must be confirmed with the code it shows: pass --match CODE")
}

// ago says how long ago d was, in whole units: "2 s ago", "3 min ago".
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}
