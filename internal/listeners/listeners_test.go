package listeners

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Settings
		// want renders Brokers() as NAME=advhost:advport, then the
		// inter-broker listener and the controller listener, if any.
		want string
	}{
		{"one", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092"}, "PLAINTEXT=127.0.0.1:9092 ib=PLAINTEXT"},
		{"lower case name", Settings{Listeners: "plaintext://127.0.0.1:9092"}, "PLAINTEXT=127.0.0.1:9092 ib=PLAINTEXT"},
		{"ephemeral", Settings{Listeners: "PLAINTEXT://127.0.0.1:0,SSL2://127.0.0.1:0", ProtocolMap: "PLAINTEXT:PLAINTEXT,SSL2:PLAINTEXT"},
			"PLAINTEXT=127.0.0.1:0 SSL2=127.0.0.1:0 ib=PLAINTEXT"},
		{"two, mapped", Settings{Listeners: "INTERNAL://127.0.0.1:9092,EXTERNAL://127.0.0.1:9093",
			ProtocolMap: "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT", InterBrokerListenerName: "internal"},
			"INTERNAL=127.0.0.1:9092 EXTERNAL=127.0.0.1:9093 ib=INTERNAL"},
		{"inter-broker first", Settings{Listeners: "EXTERNAL://127.0.0.1:9093,INTERNAL://127.0.0.1:9092",
			ProtocolMap: "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT", InterBrokerListenerName: "INTERNAL"},
			"INTERNAL=127.0.0.1:9092 EXTERNAL=127.0.0.1:9093 ib=INTERNAL"},
		{"default inter-broker: first non-controller", Settings{Listeners: "CONTROLLER://127.0.0.1:9093,A://127.0.0.1:9092",
			ProtocolMap: "A:PLAINTEXT,CONTROLLER:PLAINTEXT", ControllerListenerNames: "CONTROLLER", Controller: true},
			"A=127.0.0.1:9092 ib=A ctl=CONTROLLER@127.0.0.1:9093"},
		{"advertised", Settings{Listeners: "PLAINTEXT://:9092", AdvertisedListeners: "PLAINTEXT://kafka-0.example:19092"},
			"PLAINTEXT=kafka-0.example:19092 ib=PLAINTEXT"},
		{"advertised 0.0.0.0 bind", Settings{Listeners: "PLAINTEXT://0.0.0.0:9092", AdvertisedListeners: "PLAINTEXT://10.0.0.5:9092"},
			"PLAINTEXT=10.0.0.5:9092 ib=PLAINTEXT"},
		{"advertised.host", Settings{Listeners: "PLAINTEXT://0.0.0.0:9092", AdvertisedHost: "broker1"}, "PLAINTEXT=broker1:9092 ib=PLAINTEXT"},
		{"ipv6", Settings{Listeners: "PLAINTEXT://[::1]:9092"}, "PLAINTEXT=[::1]:9092 ib=PLAINTEXT"},
		{"same port v4 and v6", Settings{Listeners: "A://127.0.0.1:9092,B://[::1]:9092", ProtocolMap: "A:PLAINTEXT,B:PLAINTEXT"},
			"A=127.0.0.1:9092 B=[::1]:9092 ib=A"},
		{"kafka's kraft server.properties", Settings{Listeners: "PLAINTEXT://:9092,CONTROLLER://:9093",
			AdvertisedListeners: "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093", ControllerListenerNames: "CONTROLLER",
			InterBrokerListenerName: "PLAINTEXT", ProtocolMap: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
			Controller: true}, "PLAINTEXT=localhost:9092 ib=PLAINTEXT ctl=CONTROLLER@:9093"},
		{"default map has CONTROLLER", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
			ControllerListenerNames: "CONTROLLER", Controller: true}, "PLAINTEXT=127.0.0.1:9092 ib=PLAINTEXT ctl=CONTROLLER@127.0.0.1:9093"},
		{"default map: other controller name", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,QUORUM://127.0.0.1:9093",
			ControllerListenerNames: "QUORUM", Controller: true}, "PLAINTEXT=127.0.0.1:9092 ib=PLAINTEXT ctl=QUORUM@127.0.0.1:9093"},
		{"controller names, broker-only, not listening", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", ControllerListenerNames: "CONTROLLER"},
			"PLAINTEXT=127.0.0.1:9092 ib=PLAINTEXT"},
		{"security.inter.broker.protocol", Settings{Listeners: "SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092", SecurityInterBrokerProtocol: "SSL"},
			"SSL=127.0.0.1:9093 PLAINTEXT=127.0.0.1:9092 ib=SSL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range c.Brokers() {
				got = append(got, l.Name+"="+Endpoint{Host: l.AdvertisedHost, Port: l.AdvertisedPort}.Addr())
			}
			got = append(got, "ib="+c.InterBroker)
			if l, ok := c.ControllerListener(); ok {
				got = append(got, "ctl="+l.Name+"@"+l.Addr())
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Settings
		want string // in the error
	}{
		{"empty", Settings{}, "listeners is empty"},
		{"no scheme", Settings{Listeners: "127.0.0.1:9092"}, "is not NAME://host:port"},
		{"no port", Settings{Listeners: "PLAINTEXT://127.0.0.1"}, "is not NAME://host:port"},
		{"bad port", Settings{Listeners: "PLAINTEXT://127.0.0.1:99999"}, "port \"99999\""},
		{"negative port", Settings{Listeners: "PLAINTEXT://127.0.0.1:-1"}, "port \"-1\""},
		{"ipv6 without brackets", Settings{Listeners: "PLAINTEXT://::1:9092"}, "brackets"},
		{"bad name", Settings{Listeners: "PLAIN TEXT://127.0.0.1:9092"}, "listener name"},
		{"duplicate name", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,plaintext://127.0.0.1:9093"}, "PLAINTEXT appears twice"},
		{"duplicate port", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.2:9092"}, "different port"},
		{"unmapped", Settings{Listeners: "INTERNAL://127.0.0.1:9092"}, "listener INTERNAL has no security protocol"},
		{"unmapped, explicit map", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", ProtocolMap: "INTERNAL:PLAINTEXT"}, "PLAINTEXT has no security protocol"},
		{"unknown protocol", Settings{Listeners: "A://127.0.0.1:9092", ProtocolMap: "A:PLAIN"}, "unknown security protocol \"PLAIN\""},
		{"bad map entry", Settings{Listeners: "A://127.0.0.1:9092", ProtocolMap: "A"}, "is not NAME:PROTOCOL"},
		{"map twice", Settings{Listeners: "A://127.0.0.1:9092", ProtocolMap: "A:PLAINTEXT,a:SSL"}, "appears twice"},
		{"advertised unknown", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "EXTERNAL://x:1"}, "EXTERNAL is not a listener"},
		{"advertised twice", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "PLAINTEXT://x:1,PLAINTEXT://y:2"}, "appears twice"},
		{"advertised 0.0.0.0", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "PLAINTEXT://0.0.0.0:9092"}, "cannot dial"},
		{"advertised port 0", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "PLAINTEXT://x:0"}, "port 0"},
		{"every interface, not advertised", Settings{Listeners: "PLAINTEXT://:9092"}, "binds every interface"},
		{"0.0.0.0, not advertised", Settings{Listeners: "PLAINTEXT://0.0.0.0:9092"}, "binds every interface"},
		{"[::], not advertised", Settings{Listeners: "PLAINTEXT://[::]:9092"}, "binds every interface"},
		{"advertised.host and advertised.listeners", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", AdvertisedListeners: "PLAINTEXT://x:1", AdvertisedHost: "y"},
			"set one of them"},
		{"inter-broker unknown", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", InterBrokerListenerName: "INTERNAL"}, "INTERNAL is not a listener"},
		{"inter-broker both", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", InterBrokerListenerName: "PLAINTEXT", SecurityInterBrokerProtocol: "PLAINTEXT"},
			"only one of"},
		{"inter-broker controller", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093", ControllerListenerNames: "CONTROLLER",
			InterBrokerListenerName: "CONTROLLER", Controller: true}, "is a controller listener"},
		{"only controller", Settings{Listeners: "CONTROLLER://127.0.0.1:9093", ControllerListenerNames: "CONTROLLER", Controller: true}, "only controller listeners"},
		{"broker-only on controller listener", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093", ControllerListenerNames: "CONTROLLER"},
			"broker-only node"},
		{"controller names no listener", Settings{Listeners: "PLAINTEXT://127.0.0.1:9092", ControllerListenerNames: "CONTROLLER", Controller: true},
			"names no listener"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}
