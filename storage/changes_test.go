package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// changeLog collects the changes a watcher hears.
type changeLog struct {
	mu  sync.Mutex
	got []Change
}

func (l *changeLog) add(c Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, c)
}

// take returns the changes heard since the last take.
func (l *changeLog) take() []Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

// changeSummary names a change by kind and record IDs, for comparison.
func changeSummary(c Change) string {
	kinds := map[ChangeKind]string{StatusCreated: "created", StatusUpdated: "updated",
		StatusDeleted: "deleted", NotificationAdded: "notification"}
	s := kinds[c.Kind]
	if s == "" {
		s = fmt.Sprintf("kind(%d)", c.Kind)
	}
	if c.Status != nil {
		s += " status " + c.Status.ID.String()
	}
	if c.Notification != nil {
		s += fmt.Sprintf(" notification %s for %s", c.Notification.ID, c.Notification.RecipientID)
	}
	return s
}

func changeSummaries(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, changeSummary(c))
	}
	return out
}

// TestWatch walks a status through creation, a reply, an edit and
// deletion, adds a notification, and rolls some of these back, checking
// after each transaction exactly which changes the watcher heard, and
// that it heard none before the commit.
func TestWatch(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice, bob := testAccount(s, "alice", ""), testAccount(s, "bob", "b.test")
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateAccount(alice); err != nil {
			return err
		}
		return tx.CreateAccount(bob)
	}); err != nil {
		t.Fatal(err)
	}
	var log changeLog
	s.Watch(log.add)
	t.Cleanup(func() { s.Watch(nil) })

	st := &Status{ID: s.NewID(), URI: "https://b.test/notes/1", AccountID: bob.ID, Content: "<p>first</p>",
		Visibility: VisibilityPublic, HomeOf: []ID{alice.ID}, CreatedAt: time.Now().UTC()}
	reply := &Status{ID: s.NewID(), URI: "https://local.test/users/alice/statuses/2", AccountID: alice.ID, Local: true,
		Content: "<p>reply</p>", Visibility: VisibilityPublic, InReplyToID: st.ID, CreatedAt: time.Now().UTC()}
	edited := *st
	edited.Content = "<p>edited</p>"
	note := &Notification{ID: s.NewID(), RecipientID: alice.ID, Type: NotifyMention, FromID: bob.ID, StatusID: st.ID,
		CreatedAt: time.Now().UTC()}
	lost := &Status{ID: s.NewID(), URI: "https://b.test/notes/lost", AccountID: bob.ID, Visibility: VisibilityPublic,
		CreatedAt: time.Now().UTC()}
	lostNote := &Notification{ID: s.NewID(), RecipientID: alice.ID, Type: NotifyFollow, FromID: bob.ID}
	lostEdit := edited
	lostEdit.Content = "<p>never</p>"

	steps := []struct {
		name     string
		fn       func(tx *Tx) error
		batch    bool // through Batch rather than Update
		rollback bool
		want     []string
		check    func(t *testing.T, cs []Change) // more about what was heard
	}{
		{name: "create", fn: func(tx *Tx) error { return tx.CreateStatus(st) },
			want: []string{"created status " + st.ID.String()},
			check: func(t *testing.T, cs []Change) {
				if c := cs[0]; c.Status.Content != "<p>first</p>" || c.Status.AccountID != bob.ID || c.Notification != nil {
					t.Errorf("created change: %+v", c)
				}
			}},
		{name: "reply reports only itself", fn: func(tx *Tx) error { return tx.CreateStatus(reply) }, batch: true,
			want: []string{"created status " + reply.ID.String()}},
		{name: "edit", fn: func(tx *Tx) error { return tx.PutStatus(&edited) },
			want: []string{"updated status " + st.ID.String()},
			check: func(t *testing.T, cs []Change) {
				if c := cs[0]; c.Status.Content != "<p>edited</p>" {
					t.Errorf("updated change carries content %q, want the edit", c.Status.Content)
				}
			}},
		{name: "notification", fn: func(tx *Tx) error { return tx.AddNotification(note) }, batch: true,
			want: []string{fmt.Sprintf("notification notification %s for %s", note.ID, alice.ID)},
			check: func(t *testing.T, cs []Change) {
				if n := cs[0].Notification; n.Type != NotifyMention || n.FromID != bob.ID || n.StatusID != st.ID || cs[0].Status != nil {
					t.Errorf("notification change: %+v", cs[0])
				}
			}},
		{name: "rolled-back create, edit and notification report nothing", rollback: true, fn: func(tx *Tx) error {
			if err := tx.CreateStatus(lost); err != nil {
				return err
			}
			if err := tx.PutStatus(&lostEdit); err != nil {
				return err
			}
			return tx.AddNotification(lostNote)
		}},
		{name: "rolled-back batch reports nothing", batch: true, rollback: true, fn: func(tx *Tx) error {
			return tx.CreateStatus(lost)
		}},
		{name: "rolled-back delete reports nothing", rollback: true, fn: func(tx *Tx) error {
			return tx.DeleteStatus(reply.ID, time.Now())
		}},
		{name: "delete", fn: func(tx *Tx) error { return tx.DeleteStatus(st.ID, time.Now()) },
			want: []string{"deleted status " + st.ID.String()},
			check: func(t *testing.T, cs []Change) {
				if c := cs[0]; c.Status.Content != "<p>edited</p>" || c.Status.URI != st.URI {
					t.Errorf("deleted change should carry the status as it was: %+v", c.Status)
				}
			}},
		{name: "several changes in one transaction, in order", fn: func(tx *Tx) error {
			if err := tx.DeleteStatus(reply.ID, time.Now()); err != nil {
				return err
			}
			return tx.AddNotification(&Notification{ID: lostNote.ID + 1, RecipientID: bob.ID, Type: NotifyFollow, FromID: alice.ID})
		},
			want: []string{"deleted status " + reply.ID.String(),
				fmt.Sprintf("notification notification %s for %s", lostNote.ID+1, bob.ID)}},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			var early []Change
			fn := func(tx *Tx) error {
				err := step.fn(tx)
				early = append(early, log.take()...) // nothing may be heard before the commit
				if err != nil {
					return err
				}
				if step.rollback {
					return errRollback
				}
				return nil
			}
			write := s.Update
			if step.batch {
				write = s.Batch
			}
			err := write(ctx, fn)
			if step.rollback != (err != nil) {
				t.Fatalf("write: %v (rollback %t)", err, step.rollback)
			}
			if len(early) > 0 {
				t.Errorf("heard before the commit: %v", changeSummaries(early))
			}
			got := log.take()
			if fmt.Sprint(changeSummaries(got)) != fmt.Sprint(step.want) {
				t.Fatalf("heard %v, want %v", changeSummaries(got), step.want)
			}
			if step.check != nil {
				step.check(t, got)
			}
		})
		if !ok {
			t.FailNow()
		}
	}
	// The rolled-back status was never stored.
	if err := s.View(func(tx *Tx) error { _, err := tx.Status(lost.ID); return err }); err == nil {
		t.Errorf("rolled-back status %s is stored", lost.ID)
	}
}

// TestWatch_replaceAndStop checks that a later Watch replaces the earlier
// watcher and that Watch(nil) stops reports.
func TestWatch_replaceAndStop(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice := testAccount(s, "alice", "")
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(alice) }); err != nil {
		t.Fatal(err)
	}
	notify := func() ID {
		t.Helper()
		n := &Notification{ID: s.NewID(), RecipientID: alice.ID, Type: NotifyFollow, FromID: alice.ID}
		if err := s.Update(ctx, func(tx *Tx) error { return tx.AddNotification(n) }); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	var first, second changeLog
	s.Watch(first.add)
	a := notify()
	s.Watch(second.add)
	b := notify()
	s.Watch(nil)
	notify()
	s.Watch(nil) // stopping twice is fine
	notify()

	tests := []struct {
		name string
		log  *changeLog
		want []ID
	}{
		{"first watcher hears until replaced", &first, []ID{a}},
		{"second watcher hears until stopped", &second, []ID{b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ID
			for _, c := range tt.log.take() {
				if c.Kind != NotificationAdded || c.Notification == nil {
					t.Fatalf("unexpected change %s", changeSummary(c))
				}
				got = append(got, c.Notification.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("heard notifications %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWatch_concurrentBatchOneFailing runs concurrent Batch writers, one
// of which fails: Batch may run each function more than once, yet every
// committed notification is heard exactly once and the failed one never.
func TestWatch_concurrentBatchOneFailing(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	alice := testAccount(s, "alice", "")
	if err := s.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(alice) }); err != nil {
		t.Fatal(err)
	}
	var log changeLog
	s.Watch(log.add)
	t.Cleanup(func() { s.Watch(nil) })
	const writers, failing = 20, 7
	ids := make([]ID, writers)
	for i := range ids {
		ids[i] = s.NewID() // allocated before Batch, as its contract asks
	}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Batch(ctx, func(tx *Tx) error {
				if err := tx.AddNotification(&Notification{ID: ids[i], RecipientID: alice.ID, Type: NotifyFollow, FromID: alice.ID}); err != nil {
					return err
				}
				if i == failing {
					return errRollback
				}
				return nil
			})
		}()
	}
	wg.Wait()
	heard := map[ID]int{}
	for _, c := range log.take() {
		if c.Kind != NotificationAdded {
			t.Fatalf("unexpected change %s", changeSummary(c))
		}
		heard[c.Notification.ID]++
	}
	for i, id := range ids {
		want := 1
		if i == failing {
			want = 0
			if errs[i] == nil {
				t.Errorf("writer %d: failing write returned nil", i)
			}
		} else if errs[i] != nil {
			t.Errorf("writer %d: %v", i, errs[i])
		}
		if heard[id] != want {
			t.Errorf("writer %d: notification %s heard %d times, want %d", i, id, heard[id], want)
		}
	}
}
