package adminapi

import (
	"context"

	"github.com/rhizome-fed/rhizome/activitypub"
)

// Local administers an instance opened in this process, for when no server
// is running. It has the same methods as Client.
type Local struct {
	In *activitypub.Instance
}

// ListAccounts returns every local account.
func (l Local) ListAccounts(context.Context) ([]Account, error) {
	all, err := l.In.LocalAccounts()
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(all))
	for i := range all {
		out = append(out, accountOf(&all[i]))
	}
	return out, nil
}

// CreateAccount creates a local account.
func (l Local) CreateAccount(ctx context.Context, n NewAccount) (Account, error) {
	la, err := l.In.CreateAccount(ctx, activitypub.NewAccount(n))
	if err != nil {
		return Account{}, err
	}
	return accountOf(la), nil
}

// SetPassword replaces a local account's password.
func (l Local) SetPassword(ctx context.Context, username, password string) error {
	return l.In.SetPassword(ctx, username, password)
}

// SetAdmin promotes or demotes a local account.
func (l Local) SetAdmin(ctx context.Context, username string, admin bool) error {
	return l.In.SetAdmin(ctx, username, admin)
}

// SetSuspended suspends or unsuspends a local account.
func (l Local) SetSuspended(ctx context.Context, username string, suspended bool) error {
	return l.In.SetSuspended(ctx, username, suspended)
}

// ListReports returns the newest reports from other instances.
func (l Local) ListReports(context.Context) ([]Report, error) {
	reports, err := l.In.Reports(100)
	if err != nil {
		return nil, err
	}
	out := make([]Report, 0, len(reports))
	for _, r := range reports {
		out = append(out, Report{ID: r.ID.String(), Reporter: r.Reporter, Accounts: r.Targets,
			Statuses: r.Statuses, Comment: r.Comment, CreatedAt: r.Created})
	}
	return out, nil
}
