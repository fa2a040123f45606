// passTLSClientCert: passes the client certificate of a mutual-TLS connection to the
// upstream, as Traefik does:
//  - pem: X-Forwarded-Tls-Client-Cert = each certificate's PEM body without delimiters or
//    newlines, comma-separated (client certificate first, then the chain it sent);
//  - info: X-Forwarded-Tls-Client-Cert-Info = URL-escaped
//    Subject="...";Issuer="...";SerialNumber="...";NB="<unix>";NA="<unix>";SAN="...", one
//    group per certificate, comma-separated; distinguished-name parts in Traefik's order
//    (DC, C, ST, L, O, OU, SN, CN) and only those selected.
// Without a client certificate the headers are left as they are.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/uri.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct NameOptions {
  bool country = false, province = false, locality = false, organization = false, organizationalUnit = false,
       commonName = false, serialNumber = false, domainComponent = false;
  static void describe(auto& self, auto& v) {
    v("country", self.country);
    v("province", self.province);
    v("locality", self.locality);
    v("organization", self.organization);
    v("organizationalUnit", self.organizationalUnit);
    v("commonName", self.commonName);
    v("serialNumber", self.serialNumber);
    v("domainComponent", self.domainComponent);
  }
};

struct InfoOptions {
  bool notAfter = false, notBefore = false, sans = false, serialNumber = false;
  std::optional<NameOptions> subject;
  std::optional<NameOptions> issuer;
  static void describe(auto& self, auto& v) {
    v("notAfter", self.notAfter);
    v("notBefore", self.notBefore);
    v("sans", self.sans);
    v("serialNumber", self.serialNumber);
    v("subject", self.subject);
    v("issuer", self.issuer);
  }
};

struct Options {
  bool pem = false;
  std::optional<InfoOptions> info;
  static void describe(auto& self, auto& v) {
    v("pem", self.pem);
    v("info", self.info);
  }
};

std::string pemBody(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string text(data, size_t(n));
  BIO_free(bio);
  std::string out;
  for (std::string_view line : splitTrimmed(text, '\n'))
    if (!line.starts_with("-----")) out.append(line);
  return out;
}

void appendParts(std::string& out, X509_NAME* name, int nid, const char* prefix) {
  for (int i = -1; (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0;) {
    ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, value);
    if (n > 0) {
      out += prefix;
      out += '=';
      out.append(reinterpret_cast<char*>(utf8), size_t(n));
      out += ',';
    }
    OPENSSL_free(utf8);
  }
}

// Go's pkix.Name keeps one CN and one serialNumber (the last); the other parts are lists.
void appendLast(std::string& out, X509_NAME* name, int nid, const char* prefix) {
  int last = -1;
  for (int i = -1; (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0;) last = i;
  if (last < 0) return;
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
  if (n > 0) {
    out += prefix;
    out += '=';
    out.append(reinterpret_cast<char*>(utf8), size_t(n));
    out += ',';
  }
  OPENSSL_free(utf8);
}

std::string distinguishedName(X509_NAME* name, const NameOptions& o, bool subject) {
  std::string out;
  if (o.domainComponent) appendParts(out, name, NID_domainComponent, "DC");
  if (o.country) appendParts(out, name, NID_countryName, "C");
  if (o.province) appendParts(out, name, NID_stateOrProvinceName, "ST");
  if (o.locality) appendParts(out, name, NID_localityName, "L");
  if (o.organization) appendParts(out, name, NID_organizationName, "O");
  if (subject && o.organizationalUnit) appendParts(out, name, NID_organizationalUnitName, "OU");
  if (o.serialNumber) appendLast(out, name, NID_serialNumber, "SN");
  if (o.commonName) appendLast(out, name, NID_commonName, "CN");
  if (!out.empty()) out.pop_back();  // trailing ','
  return out;
}

std::string sansOf(X509* cert) {
  // Go's order: DNS names, e-mail addresses, IP addresses, URIs.
  std::vector<std::string> dns, email, ips, uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      auto text = [](ASN1_STRING* s) {
        return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), size_t(ASN1_STRING_length(s)));
      };
      if (n->type == GEN_DNS) dns.push_back(text(n->d.dNSName));
      else if (n->type == GEN_EMAIL) email.push_back(text(n->d.rfc822Name));
      else if (n->type == GEN_URI) uris.push_back(text(n->d.uniformResourceIdentifier));
      else if (n->type == GEN_IPADD) {
        const unsigned char* b = ASN1_STRING_get0_data(n->d.iPAddress);
        int len = ASN1_STRING_length(n->d.iPAddress);
        std::array<uint8_t, 16> bytes{};
        if (len == 4) {
          ips.push_back(net::IpAddress::v4(uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3])
                            .toString());
        } else if (len == 16) {
          std::memcpy(bytes.data(), b, 16);
          ips.push_back(net::IpAddress::v6(bytes).toString());
        }
      }
    }
    GENERAL_NAMES_free(names);
  }
  std::string out;
  for (const auto* list : {&dns, &email, &ips, &uris})
    for (const auto& s : *list) {
      if (!out.empty()) out += ',';
      out += s;
    }
  return out;
}

std::string serialDecimal(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (!bn) return {};
  char* text = BN_bn2dec(bn);
  std::string out = text ? text : "";
  OPENSSL_free(text);
  BN_free(bn);
  return out;
}

int64_t unixTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return int64_t(timegm(&tm));
}

class PassTlsClientCert final : public Handler {
 public:
  PassTlsClientCert(const Options& options, HandlerPtr next, const WrapContext&)
      : options_(options), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    X509* leaf = ex.connection.peerCertificate;
    if (leaf) {
      std::vector<X509*> certs = {leaf};
      if (STACK_OF(X509)* chain = reinterpret_cast<STACK_OF(X509)*>(ex.connection.peerChain)) {
        for (int i = 0; i < sk_X509_num(chain); ++i) {
          X509* c = sk_X509_value(chain, i);
          if (X509_cmp(c, leaf) != 0) certs.push_back(c);
        }
      }
      if (options_.pem) {
        std::string value;
        for (X509* c : certs) {
          if (!value.empty()) value += ',';
          value += pemBody(c);
        }
        ex.request.headers.removeWithTwins("X-Forwarded-Tls-Client-Cert");
        ex.request.headers.add("X-Forwarded-Tls-Client-Cert", ex.arena.copy(value));
      }
      if (options_.info) {
        const InfoOptions& info = *options_.info;
        std::string all;
        for (size_t k = 0; k < certs.size(); ++k) {
          X509* c = certs[k];
          std::vector<std::string> parts;
          if (info.subject) {
            std::string dn = distinguishedName(X509_get_subject_name(c), *info.subject, true);
            if (!dn.empty()) parts.push_back("Subject=\"" + dn + "\"");
          }
          if (info.issuer) {
            std::string dn = distinguishedName(X509_get_issuer_name(c), *info.issuer, false);
            if (!dn.empty()) parts.push_back("Issuer=\"" + dn + "\"");
          }
          if (info.serialNumber) {
            std::string serial = serialDecimal(c);
            if (!serial.empty()) parts.push_back("SerialNumber=\"" + serial + "\"");
          }
          if (info.notBefore) parts.push_back("NB=\"" + std::to_string(unixTime(X509_get0_notBefore(c))) + "\"");
          if (info.notAfter) parts.push_back("NA=\"" + std::to_string(unixTime(X509_get0_notAfter(c))) + "\"");
          if (info.sans) {
            std::string sans = sansOf(c);
            if (!sans.empty()) parts.push_back("SAN=\"" + sans + "\"");
          }
          if (k > 0) all += ',';
          for (size_t i = 0; i < parts.size(); ++i) {
            if (i) all += ';';
            all += parts[i];
          }
        }
        ex.request.headers.removeWithTwins("X-Forwarded-Tls-Client-Cert-Info");
        ex.request.headers.add("X-Forwarded-Tls-Client-Cert-Info", ex.arena.copy(http::queryEscape(all)));
      }
    }
    co_await next_->handle(ex);
  }

 private:
  Options options_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("passTLSClientCert", makeFactory<Options, PassTlsClientCert>,
                                                    "PassClientTLSCert");

}  // namespace
}  // namespace causeway::middleware
