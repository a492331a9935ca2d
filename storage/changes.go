package storage

// ChangeKind names what a committed Change did.
type ChangeKind int

// The changes the store reports.
const (
	StatusCreated ChangeKind = iota + 1
	StatusUpdated
	StatusDeleted
	NotificationAdded
)

// Change is one committed change that live clients may want to hear
// about. Status is the record as committed (for StatusDeleted, as it was
// before deletion); Notification is set for NotificationAdded.
type Change struct {
	Kind         ChangeKind
	Status       *Status
	Notification *Notification
}

// Watch makes fn hear every Change after its transaction commits, in
// commit order per transaction. fn runs on the committing goroutine, so it
// must return at once (hand the change to a queue), and may run on several
// goroutines at once: bbolt runs commit callbacks after releasing its
// writer lock. A later Watch replaces
// the earlier one; nil stops watching.
func (s *Store) Watch(fn func(Change)) {
	if fn == nil {
		s.watcher.Store(nil)
		return
	}
	s.watcher.Store(&fn)
}

// changed reports c to the watcher of the moment tx commits.
func (tx *Tx) changed(c Change) {
	if tx.store == nil || tx.store.watcher.Load() == nil {
		return // nobody listens: no closure per change
	}
	store := tx.store
	tx.OnCommit(func() {
		if fn := store.watcher.Load(); fn != nil {
			(*fn)(c)
		}
	})
}
