package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"os"
	"strings"

	"go.step.sm/cli-utils/token"
	"golang.org/x/crypto/ssh"
)

// common are the flags x509 and ssh share: where the CA is and which provisioner signs.
type common struct {
	caURL, root, serverName, provisioner, passFile *string
}

func commonFlags(fs *flag.FlagSet) common {
	return common{
		caURL:       fs.String("ca-url", "", "https://127.0.0.1:PORT"),
		root:        fs.String("root", "", "root certificate that the CA's TLS chains to"),
		serverName:  fs.String("server-name", "localhost", "one of the CA's dnsNames"),
		provisioner: fs.String("provisioner", "", "JWK provisioner name"),
		passFile:    fs.String("password-file", "", "the provisioner's password"),
	}
}

// connect reads the provisioner password and opens the connection to the CA.
func (c common) connect() (*caClient, []byte, error) {
	pass, err := readSecret(*c.passFile)
	if err != nil {
		return nil, nil, err
	}
	client, err := newCAClient(*c.caURL, *c.root, *c.serverName)
	return client, pass, err
}

// cmdX509 gets an X.509 leaf for --subject (also its DNS SAN) on a fresh P-256 key and
// writes the leaf (then the chain step-ca returns) and the key as PEM.
func cmdX509(args []string) error {
	fs := flag.NewFlagSet("x509", flag.ExitOnError)
	c := commonFlags(fs)
	subject := fs.String("subject", "", "common name and DNS name")
	certOut := fs.String("cert", "", "output: leaf and chain, PEM")
	keyOut := fs.String("key", "", "output: private key, PEM")
	fs.Parse(args)
	if err := required(fs, "ca-url", "root", "provisioner", "password-file", "subject", "cert", "key"); err != nil {
		return err
	}
	client, pass, err := c.connect()
	if err != nil {
		return err
	}
	jwk, err := client.provisionerKey(*c.provisioner, pass)
	if err != nil {
		return err
	}
	ott, err := client.ott(jwk, *c.provisioner, *subject, "/1.0/sign", token.WithSANS([]string{*subject}))
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: *subject}, DNSNames: []string{*subject}}, key)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"ott": ott,
		"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))})
	var resp struct {
		Crt   string   `json:"crt"`
		Chain []string `json:"certChain"`
	}
	if err := client.call("POST", "/1.0/sign", bytes.NewReader(body), &resp); err != nil {
		return err
	}
	chain := resp.Crt
	if len(resp.Chain) > 0 {
		chain = strings.Join(resp.Chain, "")
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*keyOut, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(*certOut, []byte(chain), 0o644)
}

// cmdSSH gets an SSH user or host certificate for a fresh ECDSA key and writes it as an
// OpenSSH certificate line.
func cmdSSH(args []string) error {
	fs := flag.NewFlagSet("ssh", flag.ExitOnError)
	c := commonFlags(fs)
	certType := fs.String("type", "user", "user or host")
	principal := fs.String("principal", "", "principal (user name or host name); also the key id")
	certOut := fs.String("cert", "", "output: the certificate, OpenSSH line")
	fs.Parse(args)
	if err := required(fs, "ca-url", "root", "provisioner", "password-file", "principal", "cert"); err != nil {
		return err
	}
	client, pass, err := c.connect()
	if err != nil {
		return err
	}
	jwk, err := client.provisionerKey(*c.provisioner, pass)
	if err != nil {
		return err
	}
	principals := []string{*principal}
	ott, err := client.ott(jwk, *c.provisioner, *principal, "/1.0/ssh/sign", token.WithSSH(map[string]interface{}{
		"certType": *certType, "keyID": *principal, "principals": principals}))
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := ssh.NewPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]interface{}{"ott": ott, "publicKey": pub.Marshal(),
		"certType": *certType, "keyID": *principal, "principals": principals})
	var resp struct {
		Crt []byte `json:"crt"`
	}
	if err := client.call("POST", "/1.0/ssh/sign", bytes.NewReader(body), &resp); err != nil {
		return err
	}
	cert, err := ssh.ParsePublicKey(resp.Crt)
	if err != nil {
		return err
	}
	return os.WriteFile(*certOut, ssh.MarshalAuthorizedKey(cert), 0o644)
}
