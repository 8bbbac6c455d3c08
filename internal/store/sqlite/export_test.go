package sqlite

// WithBeforeWALSync returns o with a function run at the start of every
// sync of the write-ahead log.
func WithBeforeWALSync(o Options, f func() error) Options {
	o.beforeWALSync = f
	return o
}
