package storage

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestMigrate_mediaFromInlineAttachments builds a file at the schema just
// before migrateMedia holding statuses with inline attachments (as older
// builds stored remote statuses), opens it with the full schema, and
// checks that each attachment became a Media record linked both ways.
func TestMigrate_mediaFromInlineAttachments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rhizome.db")
	before := len(schema) - 1
	old, err := Open(path, Options{migrations: schema[:before]})
	if err != nil {
		t.Fatal(err)
	}
	bob := testAccount(old, "bob", "b.test")
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	newStatus := func(n string) *Status {
		return &Status{ID: old.NewID(), URI: "https://b.test/notes/" + n, AccountID: bob.ID, Content: "<p>" + n + "</p>",
			Visibility: VisibilityPublic, CreatedAt: created}
	}
	two, empty, none := newStatus("two"), newStatus("empty"), newStatus("none")
	// Each status's "attachments" as the old build wrote it; nil: no key.
	inline := map[ID]string{
		two.ID: `[{"url":"https://b.test/files/a.png","media_type":"image/png","description":"alt","blurhash":"x"},` +
			`{"url":"https://b.test/files/b.mp4","media_type":"video/mp4"}]`,
		empty.ID: `[]`,
	}
	if err := old.Update(t.Context(), func(tx *Tx) error {
		if err := tx.CreateAccount(bob); err != nil {
			return err
		}
		for _, st := range []*Status{two, empty, none} {
			if err := tx.CreateStatus(st); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := old.db.Update(func(tx *bolt.Tx) error {
		statuses := tx.Bucket(bucketStatuses)
		for id, attachments := range inline {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(statuses.Get(id.Key()), &raw); err != nil {
				return err
			}
			raw["attachments"] = json.RawMessage(attachments)
			data, err := json.Marshal(raw)
			if err != nil {
				return err
			}
			if err := statuses.Put(id.Key(), data); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketMedia) != nil {
			t.Errorf("media bucket exists at schema %d: the test does not start before migrateMedia", before)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v, _ := old.SchemaVersion(); v != before {
		t.Fatalf("old file at schema %d, want %d", v, before)
	}
	old.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(); v != LatestSchemaVersion() {
		t.Fatalf("schema %d after migration, want %d", v, LatestSchemaVersion())
	}
	if err := s.Check(); err != nil {
		t.Fatalf("consistency check after migration: %v", err)
	}

	type wantMedia struct{ url, mime, typ, description, blurhash string }
	tests := []struct {
		name   string
		status *Status
		want   []wantMedia
	}{
		{"two attachments, in order", two, []wantMedia{
			{"https://b.test/files/a.png", "image/png", "image", "alt", "x"},
			{"https://b.test/files/b.mp4", "video/mp4", "video", "", ""},
		}},
		{"empty attachments", empty, nil},
		{"no attachments key", none, nil},
	}
	var allMedia []ID
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.View(func(tx *Tx) error {
				st, err := tx.Status(tt.status.ID)
				if err != nil {
					return err
				}
				if st.Content != tt.status.Content || st.URI != tt.status.URI || !st.CreatedAt.Equal(created) {
					t.Errorf("status fields changed by the migration: %+v", st)
				}
				if len(st.MediaIDs) != len(tt.want) {
					t.Fatalf("MediaIDs = %v, want %d", st.MediaIDs, len(tt.want))
				}
				ms, err := tx.StatusMedia(st)
				if err != nil {
					return err
				}
				if len(ms) != len(tt.want) {
					t.Fatalf("StatusMedia found %d of %v", len(ms), st.MediaIDs)
				}
				for i, m := range ms {
					w := tt.want[i]
					if m.ID != st.MediaIDs[i] || m.RemoteURL != w.url || m.MIME != w.mime || m.Type != w.typ ||
						m.Description != w.description || m.Blurhash != w.blurhash {
						t.Errorf("media %d = %+v, want %+v", i, m, w)
					}
					if m.StatusID != st.ID || m.AccountID != bob.ID || m.Local() || m.File != "" || !m.CreatedAt.Equal(created) {
						t.Errorf("media %d: status %s, account %s, local %t, file %q, created %v; want %s, %s, false, \"\", %v",
							i, m.StatusID, m.AccountID, m.Local(), m.File, m.CreatedAt, st.ID, bob.ID, created)
					}
					allMedia = append(allMedia, m.ID)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(allMedia) != 2 || allMedia[0] == allMedia[1] {
		t.Fatalf("migrated media IDs %v, want two distinct", allMedia)
	}
	// New IDs stay above the migrated records', and the migrated remote,
	// attached media never count as stale uploads.
	if id := s.NewID(); id <= slices.Max(allMedia) {
		t.Errorf("new ID %s not above migrated media %v", id, allMedia)
	}
	if err := s.View(func(tx *Tx) error {
		stale, err := tx.StaleUploads(time.Now().Add(time.Hour), 10)
		if len(stale) != 0 {
			t.Errorf("StaleUploads = %v, want none", stale)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Deleting the status takes its migrated media with it.
	if err := s.Update(t.Context(), func(tx *Tx) error { return tx.DeleteStatus(two.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	for _, id := range allMedia {
		if mediaExists(t, s, id) {
			t.Errorf("media %s outlived its status", id)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("consistency check: %v", err)
	}
}
