package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Record buckets are keyed by ID.Key; index buckets map a
// unique key to an ID.Key.
var (
	bucketMeta          = []byte("meta")                 // schema_version → u64
	bucketSettings      = []byte("settings")             // name → value
	bucketCounters      = []byte("counters")             // name → u64
	bucketAccounts      = []byte("accounts")             // ID → Account
	bucketAccountsByURI = []byte("accounts_by_uri")      // actor URI → ID
	bucketAccountsByAcc = []byte("accounts_by_acct")     // lower(username@domain) → ID
	bucketUsers         = []byte("users")                // account ID → User
	bucketUsersByEmail  = []byte("users_by_email")       // lower(email) → account ID
	bucketPrivateKeys   = []byte("private_keys")         // account ID → PEM
	bucketAccountsByKey = []byte("accounts_by_key")      // public key id → ID
	bucketFollows       = []byte("follows")              // follower ID ‖ followed ID → Follow
	bucketFollowersOf   = []byte("followers_of")         // followed ID ‖ follower ID → nothing
	bucketFollowsByURI  = []byte("follows_by_uri")       // Follow activity id → follower ID ‖ followed ID
	bucketDeliveries    = []byte("deliveries")           // due ms ‖ delivery ID → Delivery
	bucketDeliveryBody  = []byte("delivery_bodies")      // body ID → refcount u32 ‖ body
	bucketDeliveryHosts = []byte("delivery_hosts")       // host → HostState
	bucketStatuses      = []byte("statuses")             // ID → Status
	bucketStatusesByURI = []byte("statuses_by_uri")      // status URI → ID
	bucketAccountStatus = []byte("account_statuses")     // account ID ‖ status ID → nothing
	bucketHome          = []byte("home_timelines")       // owner ID ‖ status ID → nothing
	bucketReplies       = []byte("replies")              // parent ID ‖ reply ID → nothing
	bucketTombstones    = []byte("tombstones")           // deleted status URI → deletion time
	bucketFavourites    = []byte("favourites")           // account ID ‖ status ID → Like activity id
	bucketFavouritesURI = []byte("favourites_by_uri")    // Like activity id → account ID ‖ status ID
	bucketBlocks        = []byte("blocks")               // blocker ID ‖ blocked ID → Block activity id
	bucketBlocksByURI   = []byte("blocks_by_uri")        // Block activity id → blocker ID ‖ blocked ID
	bucketTagStatuses   = []byte("tag_statuses")         // tag ‖ 0 ‖ status ID → nothing
	bucketMentions      = []byte("mentions")             // mentioned account ID ‖ status ID → nothing
	bucketReblogs       = []byte("reblogs")              // boosted status ID ‖ boost ID → nothing
	bucketReports       = []byte("reports")              // ID → Report
	bucketReportsByURI  = []byte("reports_by_uri")       // Flag activity id → ID
	bucketApps          = []byte("oauth_apps")           // ID → App
	bucketAppsByClient  = []byte("oauth_apps_by_client") // client_id → ID
	bucketTokens        = []byte("oauth_tokens")         // SHA-256 of token → Token
	bucketCodes         = []byte("oauth_codes")          // SHA-256 of code → AuthCode
	bucketNotifications = []byte("notifications")        // recipient ID ‖ notification ID → Notification
	bucketMarkers       = []byte("markers")              // account ID → Markers
	bucketFavouritedBy  = []byte("favourited_by")        // status ID ‖ account ID → nothing
	bucketBookmarks     = []byte("bookmarks")            // account ID ‖ status ID → nothing
	bucketMutes         = []byte("mutes")                // muter ID ‖ muted ID → nothing
	bucketPins          = []byte("pins")                 // account ID ‖ status ID → nothing
	bucketLists         = []byte("lists")                // list ID → List
	bucketListsByOwner  = []byte("lists_by_owner")       // owner ID ‖ list ID → nothing
	bucketListMembers   = []byte("list_members")         // list ID ‖ account ID → nothing
	bucketFilters       = []byte("filters")              // owner ID ‖ filter ID → Filter
	bucketFollowedTags  = []byte("followed_tags")        // account ID ‖ 0 ‖ tag → nothing
	bucketConversations = []byte("conversations")        // account ID ‖ root status ID → ConversationState
	bucketStatusMutes   = []byte("status_mutes")         // account ID ‖ root status ID → nothing
	bucketBoostsBy      = []byte("boosts_by")            // account ID ‖ boosted status ID → boost ID
)

var (
	bucketMedia           = []byte("media")              // ID → Media
	bucketMediaProcessing = []byte("media_processing")   // media ID → nothing, while processing
	bucketBlobRefs        = []byte("blob_refs")          // blob hash → u64 count of records holding it
	bucketRemoteFiles     = []byte("remote_files")       // remote URL → RemoteFile
	bucketPushSubs        = []byte("push_subscriptions") // account ID ‖ token hash → PushSubscription
	bucketBlobGarbage     = []byte("blob_garbage")       // blob hash no record holds → nothing, until collected
	bucketMediaUnattached = []byte("media_unattached")   // ID of a local upload on no status → nothing
)

// idKeyedBuckets are the buckets whose keys are IDs; Open keeps new IDs
// above their largest key.
var idKeyedBuckets = [][]byte{bucketAccounts, bucketStatuses, bucketReports, bucketApps, bucketLists, bucketMedia}

var keySchemaVersion = []byte("schema_version")

// A migration moves the schema one version forward. It runs in its own
// write transaction together with the version bump, so it either happens
// completely or not at all.
type migration struct {
	name string
	up   func(tx *bolt.Tx) error
}

// schema is the history of the file format. Append only: never edit or
// reorder a migration that has shipped.
var schema = []migration{
	{"create record and index buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketSettings, bucketAccounts, bucketAccountsByURI,
			bucketAccountsByAcc, bucketUsers, bucketUsersByEmail, bucketPrivateKeys)
	}},
	{"count local users", func(tx *bolt.Tx) error {
		counters, err := tx.CreateBucketIfNotExists(bucketCounters)
		if err != nil {
			return err
		}
		n := uint64(tx.Bucket(bucketUsers).Stats().KeyN)
		return counters.Put([]byte(CounterLocalUsers), binary.BigEndian.AppendUint64(nil, n))
	}},
	{"index accounts by public key id", func(tx *bolt.Tx) error {
		byKey, err := tx.CreateBucketIfNotExists(bucketAccountsByKey)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketAccounts).ForEach(func(k, v []byte) error {
			var a Account
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("account %x: %w: %w", k, ErrCorrupt, err)
			}
			if a.PublicKeyID == "" {
				return nil
			}
			return byKey.Put([]byte(a.PublicKeyID), k)
		})
	}},
	{"create follow and delivery queue buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketFollows, bucketFollowersOf, bucketFollowsByURI,
			bucketDeliveries, bucketDeliveryBody, bucketDeliveryHosts)
	}},
	{"create status, timeline and tombstone buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketStatuses, bucketStatusesByURI, bucketAccountStatus,
			bucketHome, bucketReplies, bucketTombstones)
	}},
	{"create favourite and block buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketFavourites, bucketFavouritesURI, bucketBlocks, bucketBlocksByURI)
	}},
	{"index statuses by hashtag and by mentioned account", func(tx *bolt.Tx) error {
		if err := createBuckets(tx, bucketTagStatuses, bucketMentions); err != nil {
			return err
		}
		tags, mentions := tx.Bucket(bucketTagStatuses), tx.Bucket(bucketMentions)
		return tx.Bucket(bucketStatuses).ForEach(func(k, v []byte) error {
			var s Status
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("status %x: %w: %w", k, ErrCorrupt, err)
			}
			for _, tag := range s.Tags {
				if err := tags.Put(tagKey(tag, s.ID), nil); err != nil {
					return err
				}
			}
			for _, m := range s.Mentions {
				if err := mentions.Put(pairKey(m, s.ID), nil); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	{"index boosts by the status they boost", func(tx *bolt.Tx) error {
		if err := createBuckets(tx, bucketReblogs); err != nil {
			return err
		}
		reblogs := tx.Bucket(bucketReblogs)
		return tx.Bucket(bucketStatuses).ForEach(func(k, v []byte) error {
			var s Status
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("status %x: %w: %w", k, ErrCorrupt, err)
			}
			if s.ReblogOfID == 0 {
				return nil
			}
			return reblogs.Put(pairKey(s.ReblogOfID, s.ID), nil)
		})
	}},
	{"create report buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketReports, bucketReportsByURI)
	}},
	{"create OAuth app, token and code buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketApps, bucketAppsByClient, bucketTokens, bucketCodes)
	}},
	{"create the notifications bucket", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketNotifications)
	}},
	{"create markers, and index likes by status", func(tx *bolt.Tx) error {
		if err := createBuckets(tx, bucketMarkers, bucketFavouritedBy); err != nil {
			return err
		}
		byStatus := tx.Bucket(bucketFavouritedBy)
		return tx.Bucket(bucketFavourites).ForEach(func(k, _ []byte) error {
			account, status := splitPairKey(k)
			return byStatus.Put(pairKey(status, account), nil)
		})
	}},
	{"create bookmark, mute and pin buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketBookmarks, bucketMutes, bucketPins)
	}},
	{"create list, filter and followed-tag buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketLists, bucketListsByOwner, bucketListMembers, bucketFilters, bucketFollowedTags)
	}},
	{"create conversation state and thread mute buckets", func(tx *bolt.Tx) error {
		return createBuckets(tx, bucketConversations, bucketStatusMutes)
	}},
	{"index boosts by booster and boosted status", func(tx *bolt.Tx) error {
		if err := createBuckets(tx, bucketBoostsBy); err != nil {
			return err
		}
		boostsBy := tx.Bucket(bucketBoostsBy)
		return tx.Bucket(bucketStatuses).ForEach(func(k, v []byte) error {
			var s Status
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("status %x: %w: %w", k, ErrCorrupt, err)
			}
			if s.ReblogOfID == 0 {
				return nil
			}
			return boostsBy.Put(pairKey(s.AccountID, s.ReblogOfID), s.ID.Key())
		})
	}},
	{"media records, blob references, remote file cache and push subscriptions", migrateMedia},
}

// migrateMedia creates the media buckets and turns the attachments that
// remote statuses carried inline into media records.
func migrateMedia(tx *bolt.Tx) error {
	if err := createBuckets(tx, bucketMedia, bucketMediaProcessing, bucketMediaUnattached, bucketBlobRefs,
		bucketBlobGarbage, bucketRemoteFiles, bucketPushSubs); err != nil {
		return err
	}
	type inlineAttachment struct {
		URL         string `json:"url"`
		MediaType   string `json:"media_type"`
		Description string `json:"description"`
		Blurhash    string `json:"blurhash"`
	}
	statuses, media := tx.Bucket(bucketStatuses), tx.Bucket(bucketMedia)
	var n uint64 // keeps the IDs of one millisecond's attachments apart
	var updated [][2][]byte
	err := statuses.ForEach(func(k, v []byte) error {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(v, &raw); err != nil {
			return fmt.Errorf("status %x: %w: %w", k, ErrCorrupt, err)
		}
		var inline []inlineAttachment
		if a, ok := raw["attachments"]; !ok {
			return nil
		} else if err := json.Unmarshal(a, &inline); err != nil {
			return fmt.Errorf("status %x attachments: %w: %w", k, ErrCorrupt, err)
		}
		var s Status
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("status %x: %w: %w", k, ErrCorrupt, err)
		}
		for _, a := range inline {
			n++
			m := Media{ID: ID(uint64(s.ID)>>seqBits<<seqBits | n&(1<<seqBits-1)), AccountID: s.AccountID,
				StatusID: s.ID, Type: MediaTypeOf(a.MediaType), MIME: a.MediaType, RemoteURL: a.URL,
				Description: a.Description, Blurhash: a.Blurhash, CreatedAt: s.CreatedAt}
			if err := putJSON(media, m.ID.Key(), &m); err != nil {
				return err
			}
			s.MediaIDs = append(s.MediaIDs, m.ID)
		}
		data, err := json.Marshal(&s)
		if err != nil {
			return err
		}
		updated = append(updated, [2][]byte{slices.Clone(k), data})
		return nil
	})
	if err != nil {
		return err
	}
	for _, kv := range updated {
		if err := statuses.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// LatestSchemaVersion is the schema version this build writes.
func LatestSchemaVersion() int { return len(schema) }

func createBuckets(tx *bolt.Tx, names ...[]byte) error {
	for _, name := range names {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrate applies the migrations the file has not seen yet, each in its
// own transaction.
func (s *Store) migrate() error {
	if err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	}); err != nil {
		return fmt.Errorf("create meta bucket: %w", err)
	}
	for {
		done := false
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			version := 0
			if v := meta.Get(keySchemaVersion); v != nil {
				if len(v) != 8 {
					return fmt.Errorf("schema version %x: %w", v, ErrCorrupt)
				}
				version = int(binary.BigEndian.Uint64(v))
			}
			switch {
			case version > len(s.migrations):
				return fmt.Errorf("file has schema %d, this build knows %d: %w",
					version, len(s.migrations), ErrSchemaTooNew)
			case version == len(s.migrations):
				done = true
				return nil
			}
			m := s.migrations[version]
			if err := m.up(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", version+1, m.name, err)
			}
			return meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, uint64(version+1)))
		})
		if err != nil || done {
			return err
		}
	}
}

// SchemaVersion returns the version recorded in the file.
func (s *Store) SchemaVersion() (int, error) {
	var version int
	err := s.View(func(tx *Tx) error {
		meta, err := tx.bucket(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchemaVersion); len(v) == 8 {
			version = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return version, err
}
