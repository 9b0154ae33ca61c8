package main

// rill user: SCRAM credentials, as kafka-configs.sh --entity-type users
// alters them (KIP-554's AlterUserScramCredentials and
// DescribeUserScramCredentials, through kadm):
//
//	rill user create --user alice --password secret [--mechanism SCRAM-SHA-512] [--iterations 8192]
//	rill user list   [--user alice]...
//	rill user delete --user alice [--mechanism SCRAM-SHA-256]
//
// create replaces the user's credential for the mechanism if there is
// one. The password never leaves this process: the tool draws a salt as
// Kafka's ScramFormatter does (130 random bits in base 36) and sends the
// salt and Hi(password, salt, iterations); the broker keeps the salt,
// StoredKey, ServerKey and iterations. Without --password the password is
// the first line of standard input. delete without --mechanism deletes
// every credential of the user.

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rillmq/rill/netserver/sasl"
)

// newUserCmd: rill user create|list|delete; the file comment has the flags.
func newUserCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "user", Short: "create, list or delete SCRAM users (kafka-configs.sh --entity-type users)"})
	c.AddCommand(
		userSubCmd("create", "create --user U [--password P] [--mechanism M] [--iterations N]", "create or replace a SCRAM credential (password from stdin without --password)", noArgs),
		userSubCmd("list", "list [--user U]...", "list SCRAM users and their mechanisms", noArgs),
		userSubCmd("delete", "delete --user U [--mechanism M]", "delete SCRAM credentials", noArgs),
	)
	return c
}

func userSubCmd(sub, use, short string, args cobra.PositionalArgs) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: args}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	var users []string
	fs.StringArrayVar(&users, "user", nil, "user name (list: repeatable, none lists every user)")
	mechanism := fs.String("mechanism", "", "SCRAM-SHA-256 or SCRAM-SHA-512 (create: default SCRAM-SHA-256; delete: default every mechanism)")
	password := fs.String("password", "", "create: the password (default: the first line of standard input)")
	iterations := fs.Int("iterations", 8192, "create: SCRAM iterations, 4096 to 16384")
	var out outputFlag
	if sub == "list" {
		out.register(c)
	}
	scopeFlags(c, sub, map[string]string{"password": "create", "iterations": "create"})
	c.RunE = func(c *cobra.Command, args []string) error {
		w := c.OutOrStdout()
		mech := kadm.ScramMechanism(0)
		if *mechanism != "" {
			switch strings.ToUpper(*mechanism) {
			case sasl.MechanismScramSHA256:
				mech = kadm.ScramSha256
			case sasl.MechanismScramSHA512:
				mech = kadm.ScramSha512
			default:
				return usageErrorf("--mechanism %q: want %s or %s", *mechanism, sasl.MechanismScramSHA256, sasl.MechanismScramSHA512)
			}
		}
		oneUser := func() (string, error) {
			if len(users) != 1 || users[0] == "" {
				return "", usageErrorf("user %s: name one user (--user)", sub)
			}
			return users[0], nil
		}
		adm, ctx, done, err := tf.admin(c.Context())
		if err != nil {
			return err
		}
		defer done()
		switch sub {
		case "create":
			user, err := oneUser()
			if err != nil {
				return err
			}
			if mech == 0 {
				mech = kadm.ScramSha256
			}
			pass := *password
			if pass == "" {
				line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
				if pass = strings.TrimRight(line, "\r\n"); pass == "" {
					return fmt.Errorf("user create: no --password and none on standard input (%v)", err)
				}
			}
			if *iterations < sasl.ScramMinIterations || *iterations > sasl.ScramMaxIterations {
				return usageErrorf("--iterations %d: want %d to %d", *iterations, sasl.ScramMinIterations, sasl.ScramMaxIterations)
			}
			salt, err := scramSalt()
			if err != nil {
				return err
			}
			salted, err := sasl.ScramSaltedPassword(mech.String(), pass, salt, *iterations)
			if err != nil {
				return err
			}
			res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: mech, Iterations: int32(*iterations),
				Salt: salt, SaltedPassword: salted}})
			if err != nil {
				return err
			}
			if err := alteredError(res); err != nil {
				return fmt.Errorf("user create: %w", err)
			}
			fmt.Fprintf(w, "created %s credential of %s (%d iterations)\n", mech, user, *iterations)
		case "list":
			described, err := adm.DescribeUserSCRAMs(ctx, users...)
			if err != nil {
				return err
			}
			type userJSON struct {
				User       string `json:"user"`
				Mechanism  string `json:"mechanism"`
				Iterations int32  `json:"iterations"`
			}
			list := []userJSON{}
			for _, d := range described.Sorted() {
				if d.Err != nil {
					return fmt.Errorf("user list: %s: %v %s", d.User, d.Err, d.ErrMessage)
				}
				for _, c := range d.CredInfos {
					list = append(list, userJSON{d.User, c.Mechanism.String(), c.Iterations})
				}
				if out.json() {
					continue
				}
				var creds []string
				for _, c := range d.CredInfos {
					creds = append(creds, fmt.Sprintf("%s iterations=%d", c.Mechanism, c.Iterations))
				}
				fmt.Fprintf(w, "%s\t%s\n", d.User, strings.Join(creds, ", "))
			}
			if out.json() {
				return writeJSON(w, list)
			}
		case "delete":
			user, err := oneUser()
			if err != nil {
				return err
			}
			var dels []kadm.DeleteSCRAM
			if mech != 0 {
				dels = []kadm.DeleteSCRAM{{User: user, Mechanism: mech}}
			} else {
				described, err := adm.DescribeUserSCRAMs(ctx, user)
				if err != nil {
					return err
				}
				d := described[user]
				if d.Err != nil {
					return fmt.Errorf("user delete: %s: %v %s", user, d.Err, d.ErrMessage)
				}
				for _, c := range d.CredInfos {
					dels = append(dels, kadm.DeleteSCRAM{User: user, Mechanism: c.Mechanism})
				}
			}
			// A user may be named once per request (Kafka's rule): one
			// request per mechanism.
			for _, d := range dels {
				res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{d}, nil)
				if err != nil {
					return err
				}
				if err := alteredError(res); err != nil {
					return fmt.Errorf("user delete: %w", err)
				}
				fmt.Fprintf(w, "deleted %s credential of %s\n", d.Mechanism, user)
			}
		default:
			panic("user: no subcommand " + sub) // only the subcommands above are registered
		}
		return nil
	}
	return c
}

// scramSalt is a fresh salt as Kafka's ScramFormatter.secureRandomBytes
// makes one: 130 random bits written in base 36, as bytes.
func scramSalt() ([]byte, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 130))
	if err != nil {
		return nil, fmt.Errorf("drawing a salt: %w", err)
	}
	return []byte(n.Text(36)), nil
}

// alteredError is the first user's error of an alteration, with the
// broker's message.
func alteredError(res kadm.AlteredUserSCRAMs) error {
	for _, r := range res.Sorted() {
		if r.Err != nil {
			return fmt.Errorf("%s: %w (%s)", r.User, r.Err, r.ErrMessage)
		}
	}
	return nil
}
