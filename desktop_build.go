//go:build desktop

package main

import "embed"

// windowed is true in the app's builds (the desktop tag), which open a
// window. The build that Wails runs to generate the bindings (wails build,
// wails generate module) has no desktop tag: it opens none and must run
// without a display.
const windowed = true

// assets is the frontend the window shows, built by `npm run build` into
// frontend/dist (make desktop does both). Only the desktop build embeds it,
// so that `go build ./...` works in a clone without npm.
//
//go:embed all:frontend/dist
var assets embed.FS
