package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"go.step.sm/cli-utils/token"
	"go.step.sm/crypto/jose"
)

// refusal is an HTTP answer other than 2xx from the CA.
type refusal struct {
	status int
	body   string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("the CA answered %d: %s", r.status, strings.TrimSpace(r.body))
}

// caClient talks to step-ca over TLS, trusting only the given root. The CA's own TLS
// certificate names its dnsNames, so the connection may go to an IP with a server name.
type caClient struct {
	base, serverName string
	http             *http.Client
}

func newCAClient(caURL, rootFile, serverName string) (*caClient, error) {
	pem, err := os.ReadFile(rootFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", rootFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName}}
	return &caClient{base: strings.TrimSuffix(caURL, "/"), serverName: serverName,
		http: &http.Client{Transport: tr}}, nil
}

// call sends body (JSON, or nothing for GET) to path and decodes a 2xx answer into out.
func (c *caClient) call(method, path string, body io.Reader, out interface{}) error {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &refusal{status: resp.StatusCode, body: string(b)}
	}
	return json.Unmarshal(b, out)
}

// provisionerKey finds the JWK provisioner by name in /provisioners and decrypts its
// private key with the password.
func (c *caClient) provisionerKey(name string, pass []byte) (*jose.JSONWebKey, error) {
	var list struct {
		Provisioners []struct {
			Type         string          `json:"type"`
			Name         string          `json:"name"`
			Key          json.RawMessage `json:"key"`
			EncryptedKey string          `json:"encryptedKey"`
		} `json:"provisioners"`
	}
	if err := c.call("GET", "/provisioners?limit=100", nil, &list); err != nil {
		return nil, err
	}
	for _, p := range list.Provisioners {
		if p.Name != name || p.Type != "JWK" {
			continue
		}
		plain, err := jose.Decrypt([]byte(p.EncryptedKey), jose.WithPassword(pass))
		if err != nil {
			return nil, fmt.Errorf("provisioner %s: %w", name, err)
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(plain, &jwk); err != nil {
			return nil, fmt.Errorf("provisioner %s: decrypted key: %w", name, err)
		}
		return &jwk, nil
	}
	return nil, fmt.Errorf("the CA lists no JWK provisioner %q", name)
}

// ott signs a one-time token for the provisioner: issuer its name, audience the CA's
// endpoint under the server name (step-ca ignores the port), a random id.
func (c *caClient) ott(jwk *jose.JSONWebKey, issuer, subject, endpoint string, opts ...token.Options) (string, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	aud := (&url.URL{Scheme: "https", Host: c.serverName, Path: endpoint}).String()
	opts = append([]token.Options{token.WithIssuer(issuer), token.WithSubject(subject),
		token.WithAudience(aud), token.WithJWTID(hex.EncodeToString(id)),
		token.WithKid(jwk.KeyID)}, opts...)
	claims, err := token.NewClaims(opts...)
	if err != nil {
		return "", err
	}
	return claims.Sign(jose.SignatureAlgorithm(jwk.Algorithm), jwk.Key)
}
