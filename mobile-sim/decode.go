package main

import (
	"fmt"
	"image"
)

// decodeResult is one line of decode -json.
type decodeResult struct {
	File  string   `json:"file"`
	Texts []string `json:"texts"`
	Error string   `json:"error,omitempty"`
}

// cmdDecode prints the text of every QR code in each image: decode
// [-json] [--screen] FILE... ("-" is stdin). With several sources each line
// starts with "FILE: "; with -json each source is one JSON object on a line.
// The exit code is that of the first source that failed: 2 unreadable, 3 no
// QR code.
func cmdDecode(e *env, args []string) error {
	f := newFlags("decode", "FILE...")
	asJSON := f.Bool("json", false, `print one JSON object per source: {"file", "texts", "error"}`)
	screen := f.Bool("screen", false, "decode the X11 screen of $DISPLAY too")
	files, err := f.parse(args, e.stdout)
	if err != nil {
		return err
	}
	if len(files) == 0 && !*screen {
		return f.usageErr("name at least one image FILE, or --screen")
	}
	type source struct {
		name string
		load func() (image.Image, error)
	}
	var sources []source
	for _, file := range files {
		sources = append(sources, source{file, func() (image.Image, error) { return e.readImage(file) }})
	}
	if *screen {
		sources = append(sources, source{screenName(), grabScreen})
	}
	code := exitOK
	for _, s := range sources {
		img, err := s.load()
		var found []string
		if err == nil {
			found, err = texts(s.name, img)
		}
		if err != nil && code == exitOK {
			code = exitCode(err)
		}
		switch {
		case *asJSON:
			e.printJSONLine(s.name, found, err)
		case err != nil:
			fmt.Fprintf(e.stderr, "mobile-sim: decode: %s\n", printable(err.Error()))
		}
		for _, t := range found {
			if *asJSON {
				break
			}
			if len(sources) > 1 {
				fmt.Fprintf(e.stdout, "%s: ", printable(s.name))
			}
			fmt.Fprintln(e.stdout, printable(t))
		}
	}
	if code != exitOK {
		return quietExit(code)
	}
	return nil
}

// printJSONLine prints one decode -json object.
func (e *env) printJSONLine(name string, found []string, err error) {
	r := decodeResult{File: name, Texts: found}
	if r.Texts == nil {
		r.Texts = []string{}
	}
	if err != nil {
		r.Error = err.Error()
	}
	printJSON(e.stdout, r, false) // strings only: cannot fail to encode
}
