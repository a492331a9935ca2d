package activitypub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress reports an outbound connection refused because it
// would reach a loopback, private, link-local, multicast or otherwise
// non-public address (server-side request forgery).
var ErrPrivateAddress = errors.New("activitypub: refusing to connect to a non-public address")

// publicAddress reports whether ip is routable on the public internet.
func publicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLoopback(), ip.IsPrivate(),
		ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(),
		ip.IsMulticast():
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublicPrefixes are special-purpose ranges the netip predicates miss.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, can reach IPv4 internals
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// DialFunc opens a network connection, like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// guardedDialer returns a dialer that refuses non-public addresses unless
// allowPrivate is set. With the default dialer the check runs on the
// resolved address just before connecting, so DNS cannot be used to slip
// past it; a custom dial function (tests) is checked on the address it
// connected to, before any byte is sent.
func guardedDialer(custom DialFunc, allowPrivate bool) DialFunc {
	if custom != nil {
		if allowPrivate {
			return custom
		}
		return func(ctx context.Context, network, address string) (net.Conn, error) {
			conn, err := custom(ctx, network, address)
			if err != nil {
				return nil, err
			}
			if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err != nil || !publicAddress(ap.Addr()) {
				conn.Close()
				return nil, fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
			}
			return conn, nil
		}
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddress(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, ErrPrivateAddress)
			}
			return nil
		}
	}
	return d.DialContext
}
