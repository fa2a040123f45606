// The API gateway's per-request work outside the network: a 2 KB JSON body parsed and checked
// against the Petstore 3.0 schema (the project's goal is ≤ 10 µs), the route match of an
// OpenAPI path, and one ES256 signature check (what the jwt middleware's cache of verified
// tokens saves on every request after a token's first).
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "gateway/api/jose.h"
#include "gateway/api/openapi.h"

namespace {

using namespace causeway::gateway::api;

std::shared_ptr<const ApiContract> petstore() {
  auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tests" / "fixtures" /
              "openapi" / "petstore3.yaml";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string error;
  auto c = ApiContract::compile(ss.str(), {}, error);
  if (!c) throw std::runtime_error(error);
  return c;
}

// A Pet of about 2 KB: 32 tags and 20 photo URLs.
std::string twoKilobytePet() {
  boost::json::object pet{{"id", 10}, {"name", "doggie"}, {"status", "available"},
                          {"category", boost::json::object{{"id", 1}, {"name", "Dogs"}}}};
  boost::json::array photos, tags;
  for (int i = 0; i < 20; ++i) photos.push_back(boost::json::value("https://images.example.com/pets/" + std::to_string(i) + ".png"));
  for (int i = 0; i < 32; ++i) tags.push_back(boost::json::object{{"id", i}, {"name", "tag-number-" + std::to_string(i)}});
  pet["photoUrls"] = std::move(photos);
  pet["tags"] = std::move(tags);
  return boost::json::serialize(pet);
}

void BM_PetstoreBodyValidation(benchmark::State& state) {
  auto contract = petstore();
  auto m = contract->match("POST", "/v3/pet");
  std::string body = twoKilobytePet();
  for (auto _ : state) {
    boost::json::value doc = boost::json::parse(body);
    auto failure = contract->schemas().check(m.operation->jsonSchema, doc);
    benchmark::DoNotOptimize(failure);
  }
  state.SetLabel(std::to_string(body.size()) + " B body");
}
BENCHMARK(BM_PetstoreBodyValidation);

void BM_PetstorePathMatch(benchmark::State& state) {
  auto contract = petstore();
  for (auto _ : state) {
    auto m = contract->match("GET", "/v3/store/order/12345");
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_PetstorePathMatch);

void BM_Es256Verify(benchmark::State& state) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string error;
  auto publicKey = jose::keyFromPem(std::string_view(data, size_t(n)), error);
  BIO_free(bio);
  std::string input = causeway::base64UrlEncode(R"({"alg":"ES256"})") + "." + causeway::base64UrlEncode(R"({"sub":"a"})");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  std::string der(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, long(len));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data() + 32), 32);
  ECDSA_SIG_free(sig);
  std::string token = input + "." + causeway::base64UrlEncode(raw);
  jose::Token t;
  if (!jose::parse(token, t, error)) throw std::runtime_error(error);
  for (auto _ : state) benchmark::DoNotOptimize(jose::verify(t, *publicKey));
  EVP_PKEY_free(key);
}
BENCHMARK(BM_Es256Verify);

}  // namespace
