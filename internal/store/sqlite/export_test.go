package sqlite

// WithBeforeWALSync returns o with a function run at the start of every
// sync of the write-ahead log.
func WithBeforeWALSync(o Options, f func() error) Options {
	o.beforeWALSync = f
	return o
}

// WithCheckpointed returns o with a function told the log's frames and
// those copied after every checkpoint of the checkpointer.
func WithCheckpointed(o Options, f func(logFrames, copied int)) Options {
	o.checkpointed = f
	return o
}

// WithSweepListed returns o with a function run by SweepBodies after each
// listing of marked bodies, before their delete.
func WithSweepListed(o Options, f func()) Options {
	o.sweepListed = f
	return o
}
