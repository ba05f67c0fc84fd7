//go:build !desktop

package main

import "embed"

// windowed: see desktop_build.go.
const windowed = false

// assets is empty without the desktop tag: that build opens no window.
var assets embed.FS
