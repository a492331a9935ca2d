package activitypub

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-fed/activity/pub"

	"github.com/rhizome-fed/rhizome/storage"
)

// Options configures an Instance.
type Options struct {
	// Domain is the instance's host, optionally with ":port": "a.test".
	// Required. It is part of every ID, so it cannot change once set.
	Domain string
	// Protocol is "https" (the zero value) or "http".
	Protocol string
	// Title names the instance in NodeInfo and HTML pages. "" means the
	// domain.
	Title string
	// Logger receives the instance's logs. Nil discards them.
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// AllowPrivateAddresses lets fetches and deliveries reach loopback,
	// private and link-local addresses. Off, they are refused (SSRF guard);
	// tests and local labs turn it on.
	AllowPrivateAddresses bool
	// Dial replaces the network dialer for outbound requests. Nil means a
	// plain dialer. Tests map host names such as b.test to listeners.
	Dial DialFunc
	// Version names the build in the User-Agent of outbound requests.
	Version string
	// DeliveryWorkers caps concurrent deliveries. Zero means 8.
	DeliveryWorkers int
	// DeliveriesPerHost caps concurrent deliveries to one host. Zero
	// means 2.
	DeliveriesPerHost int
	// DeliveryMaxAge is how long a failing delivery is retried before it
	// is given up. Zero means 72 hours.
	DeliveryMaxAge time.Duration
	// DeliveryRetryBase is the wait before the first retry; later ones
	// double it. Zero means 30 seconds. Tests shorten it.
	DeliveryRetryBase time.Duration
	// MaxAttachments is how many files a local post may carry. Zero means
	// 4, as Mastodon.
	MaxAttachments int
	// MaxRemoteFileBytes bounds a remote file fetched for the cache. Zero
	// means 40 MiB.
	MaxRemoteFileBytes int64
	// SniffMedia tells a file's MIME type from its first 512 bytes. Nil
	// means http.DetectContentType.
	SniffMedia func(head []byte) string
}

// Instance is one Rhizome instance: its identity and its local actions.
type Instance struct {
	store    *storage.Store
	domain   string
	protocol string
	title    string
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client // outbound: fetches and deliveries
	agent    string       // User-Agent of outbound requests
	keys     keyCache
	activity activityCounts
	delivery deliveryState

	maxAttachments int
	maxRemoteBytes int64
	sniff          func(head []byte) string
	push           pushState
	fileFetches    fileFetches
	proxyKey       []byte // for MediaToken

	gofedOnce sync.Once
	gofed     pub.FederatingActor
}

// settingDomain and settingProtocol record the domain and protocol of the
// first start: both are part of every stored ID.
const (
	settingDomain   = "domain"
	settingProtocol = "protocol"
)

// settingInstanceActor records the ID of the instance actor's account.
const settingInstanceActor = "instance_actor_id"

// New returns the instance stored in store. On the first start it records
// the domain and creates the instance actor; later it refuses a domain
// different from the recorded one.
func New(ctx context.Context, store *storage.Store, opts Options) (*Instance, error) {
	if opts.Domain == "" {
		return nil, errors.New("activitypub: Options.Domain is required")
	}
	if opts.Protocol == "" {
		opts.Protocol = "https"
	}
	if opts.Protocol != "https" && opts.Protocol != "http" {
		return nil, fmt.Errorf("activitypub: Options.Protocol %q is neither https nor http", opts.Protocol)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Title == "" {
		opts.Title = opts.Domain
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	in := &Instance{
		store:    store,
		domain:   strings.ToLower(opts.Domain),
		protocol: opts.Protocol,
		title:    opts.Title,
		log:      opts.Logger,
		now:      opts.Now,

		maxAttachments: cmp.Or(opts.MaxAttachments, defaultMaxAttachments),
		maxRemoteBytes: cmp.Or(opts.MaxRemoteFileBytes, defaultMaxRemoteBytes),
		sniff:          opts.SniffMedia,
	}
	if in.sniff == nil {
		in.sniff = http.DetectContentType
	}
	in.delivery = deliveryState{
		poke:     make(chan struct{}, 1),
		workers:  cmp.Or(opts.DeliveryWorkers, defaultWorkers),
		perHost:  cmp.Or(opts.DeliveriesPerHost, defaultPerHost),
		maxAge:   cmp.Or(opts.DeliveryMaxAge, defaultDeliveryMaxAge),
		base:     cmp.Or(opts.DeliveryRetryBase, deliveryFirstBackoff),
		signers:  map[storage.ID]crypto.PrivateKey{},
		inFlight: map[storage.ID]bool{},
		hosts:    map[string]int{},
	}
	in.agent = fmt.Sprintf("rhizome/%s (+%s/)", opts.Version, in.BaseURL())
	in.client = in.newClient(guardedDialer(opts.Dial, opts.AllowPrivateAddresses))
	if err := in.claimDomain(ctx); err != nil {
		return nil, err
	}
	if err := in.ensureInstanceActor(ctx); err != nil {
		return nil, err
	}
	if err := in.ensureProxyKey(ctx); err != nil {
		return nil, fmt.Errorf("media proxy key: %w", err)
	}
	keys, err := in.ensurePushKeys(ctx)
	if err != nil {
		return nil, err
	}
	in.setupPush(keys)
	return in, nil
}

// Title returns the instance's human-readable name.
func (in *Instance) Title() string { return in.title }

// claimDomain stores the domain and protocol on the first start and
// compares them later.
func (in *Instance) claimDomain(ctx context.Context) error {
	return in.store.Update(ctx, func(tx *storage.Tx) error {
		for _, s := range []struct{ name, key, value string }{
			{settingDomain, "instance.domain", in.domain},
			{settingProtocol, "http.protocol", in.protocol},
		} {
			recorded, err := tx.Setting(s.name)
			if errors.Is(err, storage.ErrNotFound) {
				if err := tx.PutSetting(s.name, s.value); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if recorded != s.value {
				return fmt.Errorf("%s is %q but this data was created with %q: "+
					"it is part of every ID the instance has published, so it cannot change", s.key, s.value, recorded)
			}
		}
		return nil
	})
}

// secrets returns the values of settings made once, on the first start:
// read when all are there (no write on later starts), else made by create
// and stored together.
func (in *Instance) secrets(ctx context.Context, names []string, create func() ([]string, error)) ([]string, error) {
	read := func(tx *storage.Tx) []string {
		var values []string
		for _, name := range names {
			v, err := tx.Setting(name)
			if err != nil || v == "" {
				return nil
			}
			values = append(values, v)
		}
		return values
	}
	var values []string
	if err := in.store.View(func(tx *storage.Tx) error { values = read(tx); return nil }); err != nil || values != nil {
		return values, err
	}
	err := in.store.Update(ctx, func(tx *storage.Tx) error {
		if values = read(tx); values != nil {
			return nil
		}
		made, err := create()
		if err != nil {
			return err
		}
		for i, name := range names {
			if err := tx.PutSetting(name, made[i]); err != nil {
				return err
			}
		}
		values = made
		return nil
	})
	return values, err
}

// ensureInstanceActor creates the instance's own actor on the first start.
// It signs fetches that no local user makes.
func (in *Instance) ensureInstanceActor(ctx context.Context) error {
	exists := false
	if err := in.store.View(func(tx *storage.Tx) error {
		_, err := tx.Setting(settingInstanceActor)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		exists = err == nil
		return err
	}); err != nil || exists {
		return err
	}
	key, err := newKeyPair()
	if err != nil {
		return err
	}
	now := in.now().UTC()
	a := &storage.Account{
		ID:           in.store.NewID(),
		URI:          in.InstanceActorURI(),
		Username:     in.domain,
		ActorType:    "Application",
		URL:          in.BaseURL() + instanceProfile, // the front page describes the instance
		InboxURI:     in.BaseURL() + instanceInbox,
		OutboxURI:    in.BaseURL() + instanceOutbox,
		PublicKeyID:  in.InstanceActorURI() + fragmentMainKey,
		PublicKeyPEM: key.publicPEM,
		Locked:       true,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	return in.store.Update(ctx, func(tx *storage.Tx) error {
		if err := tx.CreateAccount(a); err != nil {
			return err
		}
		if err := tx.PutPrivateKey(a.ID, key.privatePEM); err != nil {
			return err
		}
		return tx.PutSetting(settingInstanceActor, a.ID.String())
	})
}

// InstanceActor returns the account of the instance's own actor.
func (in *Instance) InstanceActor() (*storage.Account, error) {
	var a *storage.Account
	err := in.store.View(func(tx *storage.Tx) error {
		var err error
		a, err = tx.AccountByURI(in.InstanceActorURI())
		return err
	})
	return a, err
}
