package redisauth

// Default names of the credential's fields, those Vault's and OpenBao's
// database engine give a dynamic Redis user.
const (
	DefaultUsernameField = "username"
	DefaultPasswordField = "password"
)

// Option configures [New].
type Option interface{ apply(*config) }

type config struct {
	username string
	password string
}

func newConfig(opts []Option) config {
	c := config{username: DefaultUsernameField, password: DefaultPasswordField}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithUsernameField sets the name of the credential's field that holds the
// Redis username ([DefaultUsernameField] by default). The empty name means the
// credential has no username: connections authenticate with the password
// alone (AUTH password, for a server protected by requirepass or the default
// user's password).
func WithUsernameField(name string) Option {
	return optionFunc(func(c *config) { c.username = name })
}

// WithPasswordField sets the name of the credential's field that holds the
// Redis password ([DefaultPasswordField] by default). [New] refuses the empty
// name with an error matching [secrets.ErrInvalidConfig].
func WithPasswordField(name string) Option {
	return optionFunc(func(c *config) { c.password = name })
}
