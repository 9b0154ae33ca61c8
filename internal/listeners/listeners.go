// Package listeners reads and checks a broker's listener settings with
// Kafka's names and rules (KIP-103): listeners, advertised.listeners,
// listener.security.protocol.map, inter.broker.listener.name (or
// security.inter.broker.protocol) and controller.listener.names. It is
// pure: Parse takes the settings' strings and returns the listeners to
// bind and advertise, or the first rule broken.
//
// The rules, as Kafka's KafkaConfig applies them:
//
//   - listeners is a comma-separated list of NAME://host:port. Names are
//     case-insensitive (kept upper case) and unique; an empty host binds
//     every interface; an IPv6 literal is written in brackets
//     ([::1]:9092). Two listeners share a port only when one binds an IPv4
//     and the other an IPv6 address (port 0, an ephemeral port, is never
//     shared).
//   - Every listener name has a security protocol in
//     listener.security.protocol.map (NAME:PROTOCOL,...). Without the
//     setting Kafka's default applies: PLAINTEXT, SSL, SASL_PLAINTEXT and
//     SASL_SSL map to themselves, and controller listener names not among
//     them (CONTROLLER) to PLAINTEXT.
//   - advertised.listeners names listeners of listeners (any host:port);
//     a listener it does not name advertises its own address. An address
//     that cannot be dialled (an empty host, 0.0.0.0, ::) is never
//     advertised: a listener bound to every interface needs an advertised
//     address.
//   - inter.broker.listener.name is the listener brokers use to reach each
//     other (replication, transaction markers). security.inter.broker.protocol
//     names the listener of that protocol's name instead; setting both is
//     an error. Default: the listener named PLAINTEXT, else the first
//     listener that is not a controller listener. It is never a
//     controller listener.
//   - controller.listener.names are the controller quorum's listeners. A
//     node with the controller role binds the first of them that
//     listeners has (its quorum transport; a node without one binds its
//     controller.quorum.voters address, as Rill always has); a broker-only
//     node must not listen on one.
//
// Rill's one departure: the deprecated advertised.host (Rill's own
// setting, before this package) sets the advertised host of every broker
// listener that advertised.listeners does not name, keeping its port.
package listeners

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Security protocols, Kafka's names.
const (
	Plaintext     = "PLAINTEXT"
	SSL           = "SSL"
	SASLPlaintext = "SASL_PLAINTEXT"
	SASLSSL       = "SASL_SSL"
)

// ProtocolID is the protocol's id in Kafka's protocol (SecurityProtocol
// in BrokerRegistration and UpdateMetadata).
func ProtocolID(protocol string) int16 {
	switch protocol {
	case SSL:
		return 1
	case SASLPlaintext:
		return 2
	case SASLSSL:
		return 3
	}
	return 0
}

// Endpoint is one NAME://host:port entry.
type Endpoint struct {
	Name string // upper case
	Host string // "" binds every interface
	Port int32
}

// Addr is host:port, with brackets around an IPv6 host.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))) }

func (e Endpoint) String() string { return e.Name + "://" + e.Addr() }

// Listener is a configured listener.
type Listener struct {
	Endpoint
	// Protocol is its security protocol.
	Protocol string
	// Controller marks a controller listener (controller.listener.names).
	Controller bool
	// AdvertisedHost and AdvertisedPort are what clients are told
	// (broker listeners only). Advertised reports whether they were set
	// (advertised.listeners or advertised.host) rather than copied from
	// the bind address, whose port 0 becomes the bound port.
	AdvertisedHost string
	AdvertisedPort int32
	Advertised     bool
}

// Config is the parsed listener settings.
type Config struct {
	// Listeners are in the order of the listeners setting.
	Listeners []Listener
	// InterBroker is the inter-broker listener's name.
	InterBroker string
	// ControllerNames is controller.listener.names.
	ControllerNames []string
	// Protocols is the security protocol of every listener name
	// (listener.security.protocol.map or Kafka's default), including the
	// controller listener a broker-only node only dials.
	Protocols map[string]string
}

// Settings are the raw settings (empty: not set).
type Settings struct {
	Listeners                   string
	AdvertisedListeners         string
	ProtocolMap                 string
	InterBrokerListenerName     string
	SecurityInterBrokerProtocol string
	ControllerListenerNames     string
	// AdvertisedHost is Rill's deprecated advertised.host.
	AdvertisedHost string
	// Controller is the controller role (process.roles).
	Controller bool
}

// ErrConfig marks a listener configuration error.
var ErrConfig = errors.New("listener config")

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// ParseEndpoints reads a comma-separated list of NAME://host:port.
func ParseEndpoints(setting, s string) ([]Endpoint, error) {
	var out []Endpoint
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, addr, ok := strings.Cut(item, "://")
		if !ok || name == "" {
			return nil, errorf("%s: %q is not NAME://host:port", setting, item)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
				return nil, errorf("%s: %q: listener name %q has a character other than letters, digits, '_', '-' and '.'", setting, item, name)
			}
		}
		host, portStr, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, errorf("%s: %q is not NAME://host:port (an IPv6 host goes in brackets: [::1]:9092): %v", setting, item, err)
		}
		if strings.Contains(host, ":") && !strings.HasPrefix(addr, "[") {
			return nil, errorf("%s: %q: an IPv6 host goes in brackets ([::1]:9092)", setting, item)
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, errorf("%s: %q: port %q is not in [0, 65535]", setting, item, portStr)
		}
		out = append(out, Endpoint{Name: strings.ToUpper(name), Host: host, Port: int32(port)})
	}
	return out, nil
}

// ParseProtocolMap reads listener.security.protocol.map.
func ParseProtocolMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, proto, ok := strings.Cut(item, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" || proto == "" {
			return nil, errorf("listener.security.protocol.map: %q is not NAME:PROTOCOL", item)
		}
		switch proto {
		case Plaintext, SSL, SASLPlaintext, SASLSSL:
		default:
			return nil, errorf("listener.security.protocol.map: %q: unknown security protocol %q (want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", item, proto)
		}
		if _, dup := out[name]; dup {
			return nil, errorf("listener.security.protocol.map: listener name %s appears twice", name)
		}
		out[name] = proto
	}
	return out, nil
}

func names(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.ToUpper(strings.TrimSpace(n)); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// unroutable reports a host that cannot be dialled: every interface.
func unroutable(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// Parse checks the settings and returns the listeners.
func Parse(s Settings) (*Config, error) {
	if strings.TrimSpace(s.Listeners) == "" {
		return nil, errorf("listeners is empty")
	}
	eps, err := ParseEndpoints("listeners", s.Listeners)
	if err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		return nil, errorf("listeners is empty")
	}
	ctlNames := names(s.ControllerListenerNames)
	isController := func(name string) bool {
		for _, n := range ctlNames {
			if n == name {
				return true
			}
		}
		return false
	}
	var protocols map[string]string
	if strings.TrimSpace(s.ProtocolMap) != "" {
		if protocols, err = ParseProtocolMap(s.ProtocolMap); err != nil {
			return nil, err
		}
	} else {
		protocols = map[string]string{Plaintext: Plaintext, SSL: SSL, SASLPlaintext: SASLPlaintext, SASLSSL: SASLSSL, "CONTROLLER": Plaintext}
		for _, n := range ctlNames {
			if _, ok := protocols[n]; !ok {
				protocols[n] = Plaintext
			}
		}
	}
	cfg := &Config{ControllerNames: ctlNames, Protocols: protocols}
	byName := map[string]int{}
	for i, ep := range eps {
		if _, dup := byName[ep.Name]; dup {
			return nil, errorf("listeners: each listener must have a different name; %s appears twice", ep.Name)
		}
		byName[ep.Name] = i
		proto, ok := protocols[ep.Name]
		if !ok {
			return nil, errorf("listeners: listener %s has no security protocol in listener.security.protocol.map (%s)", ep.Name, mapString(protocols))
		}
		cfg.Listeners = append(cfg.Listeners, Listener{Endpoint: ep, Protocol: proto, Controller: isController(ep.Name),
			AdvertisedHost: ep.Host, AdvertisedPort: ep.Port})
	}
	if err := distinctPorts(eps); err != nil {
		return nil, err
	}

	// Advertised addresses.
	if strings.TrimSpace(s.AdvertisedListeners) != "" && s.AdvertisedHost != "" {
		return nil, errorf("advertised.host is the deprecated form of advertised.listeners: set one of them")
	}
	adv, err := ParseEndpoints("advertised.listeners", s.AdvertisedListeners)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, a := range adv {
		i, ok := byName[a.Name]
		if !ok {
			return nil, errorf("advertised.listeners: %s is not a listener of listeners (%s)", a.Name, listString(eps))
		}
		if seen[a.Name] {
			return nil, errorf("advertised.listeners: listener %s appears twice", a.Name)
		}
		seen[a.Name] = true
		if unroutable(a.Host) {
			return nil, errorf("advertised.listeners: %s: clients cannot dial %q; advertise a host name or address", a, a.Host)
		}
		if a.Port == 0 {
			return nil, errorf("advertised.listeners: %s: port 0 cannot be dialled", a)
		}
		l := &cfg.Listeners[i]
		l.AdvertisedHost, l.AdvertisedPort, l.Advertised = a.Host, a.Port, true
	}
	for i := range cfg.Listeners {
		l := &cfg.Listeners[i]
		if l.Controller || l.Advertised {
			continue
		}
		if s.AdvertisedHost != "" {
			l.AdvertisedHost, l.Advertised = s.AdvertisedHost, true
			continue
		}
		if unroutable(l.Host) {
			return nil, errorf("listener %s binds every interface (%q): clients need an address to dial; set advertised.listeners=%s://HOST:%d",
				l.Name, l.Host, l.Name, l.Port)
		}
	}

	// The inter-broker listener.
	ib := strings.ToUpper(strings.TrimSpace(s.InterBrokerListenerName))
	if p := strings.ToUpper(strings.TrimSpace(s.SecurityInterBrokerProtocol)); p != "" {
		if ib != "" {
			return nil, errorf("set only one of inter.broker.listener.name and security.inter.broker.protocol")
		}
		switch p {
		case Plaintext, SSL, SASLPlaintext, SASLSSL:
		default:
			return nil, errorf("security.inter.broker.protocol: unknown security protocol %q", p)
		}
		ib = p
	}
	if ib == "" {
		if _, ok := byName[Plaintext]; ok && !isController(Plaintext) {
			ib = Plaintext
		} else {
			for _, l := range cfg.Listeners {
				if !l.Controller {
					ib = l.Name
					break
				}
			}
		}
	}
	if ib == "" {
		return nil, errorf("listeners has only controller listeners (%s); a broker needs a listener for clients", listString(eps))
	}
	i, ok := byName[ib]
	if !ok {
		return nil, errorf("inter.broker.listener.name: %s is not a listener of listeners (%s)", ib, listString(eps))
	}
	if cfg.Listeners[i].Controller {
		return nil, errorf("inter.broker.listener.name: %s is a controller listener (controller.listener.names)", ib)
	}
	cfg.InterBroker = ib

	// Controller listeners.
	var ctl []string
	for _, l := range cfg.Listeners {
		if l.Controller {
			ctl = append(ctl, l.Name)
		}
	}
	switch {
	case len(ctl) > 0 && !s.Controller:
		return nil, errorf("controller.listener.names: %s is in listeners, but only a node with the controller role (process.roles) listens on a controller listener; a broker-only node reaches the controllers at controller.quorum.voters", ctl[0])
	case len(ctl) == 0 && len(ctlNames) > 0 && s.Controller:
		return nil, errorf("controller.listener.names (%s) names no listener of listeners (%s): a node with the controller role listens on one", strings.Join(ctlNames, ","), listString(eps))
	case len(ctl) > 1:
		return nil, errorf("listeners has %d controller listeners (%s): Rill's controller quorum listens on one", len(ctl), strings.Join(ctl, ","))
	}
	return cfg, nil
}

// distinctPorts applies Kafka's rule: listeners differ in port unless one
// binds IPv4 and the other IPv6.
func distinctPorts(eps []Endpoint) error {
	byPort := map[int32][]Endpoint{}
	for _, ep := range eps {
		if ep.Port != 0 {
			byPort[ep.Port] = append(byPort[ep.Port], ep)
		}
	}
	for port, same := range byPort {
		if len(same) == 1 {
			continue
		}
		v4, v6 := 0, 0
		for _, ep := range same {
			ip := net.ParseIP(ep.Host)
			switch {
			case ip != nil && ip.To4() != nil:
				v4++
			case ip != nil:
				v6++
			}
		}
		if len(same) != 2 || v4 != 1 || v6 != 1 {
			return errorf("listeners: each listener must have a different port unless one binds an IPv4 and the other an IPv6 address; port %d: %s", port, listString(same))
		}
	}
	return nil
}

func listString(eps []Endpoint) string {
	var parts []string
	for _, ep := range eps {
		parts = append(parts, ep.String())
	}
	return strings.Join(parts, ",")
}

func mapString(m map[string]string) string {
	var parts []string
	for _, n := range []string{Plaintext, SSL, SASLPlaintext, SASLSSL} {
		if p, ok := m[n]; ok {
			parts = append(parts, n+":"+p)
		}
	}
	var others []string
	for n, p := range m {
		switch n {
		case Plaintext, SSL, SASLPlaintext, SASLSSL:
		default:
			others = append(others, n+":"+p)
		}
	}
	slices.Sort(others)
	parts = append(parts, others...)
	return strings.Join(parts, ",")
}

// Brokers are the listeners clients and brokers connect to (every
// listener that is not a controller listener), the inter-broker listener
// first.
func (c *Config) Brokers() []Listener {
	var out []Listener
	for _, l := range c.Listeners {
		if !l.Controller && l.Name == c.InterBroker {
			out = append(out, l)
		}
	}
	for _, l := range c.Listeners {
		if !l.Controller && l.Name != c.InterBroker {
			out = append(out, l)
		}
	}
	return out
}

// ControllerListener is the controller listener to bind, if any.
func (c *Config) ControllerListener() (Listener, bool) {
	for _, l := range c.Listeners {
		if l.Controller {
			return l, true
		}
	}
	return Listener{}, false
}
