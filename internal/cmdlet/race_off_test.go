//go:build !race

package cmdlet

const raceDetector = false
