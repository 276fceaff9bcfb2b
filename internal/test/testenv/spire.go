package testenv

// The SPIRE variables below are set together by scripts/test once a real SPIRE agent
// serves an X.509-SVID on its Workload API socket. The agent holds one registration
// entry, for the uid that runs the tests, so every test process gets the X.509- and
// JWT-SVIDs of the single SPIFFE ID in [SPIFFEIDVar].
const (
	// SPIFFEEndpointVar names the environment variable holding the SPIFFE Workload API
	// address of the test SPIRE agent, a unix socket in the form that
	// workloadapi.WithAddr and SPIFFE_ENDPOINT_SOCKET take ("unix:///tmp/…/agent.sock").
	SPIFFEEndpointVar = "ZTKIT_TEST_SPIFFE_ENDPOINT"

	// SPIFFETrustDomainVar names the environment variable holding the trust domain of the
	// test SPIRE server ("ztkit.test").
	SPIFFETrustDomainVar = "ZTKIT_TEST_SPIFFE_TRUST_DOMAIN"

	// SPIFFEIDVar names the environment variable holding the SPIFFE ID the test SPIRE
	// agent issues to test processes ("spiffe://ztkit.test/workload"). Its X.509-SVIDs
	// live about a minute, so a test can watch the agent rotate one.
	SPIFFEIDVar = "ZTKIT_TEST_SPIFFE_ID"
)
