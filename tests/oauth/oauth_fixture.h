#pragma once

// A running devauth server with the clients the OAuth endpoint tests share, and helpers that
// drive the endpoints over real HTTP and assert RFC 6749 §5.2 error responses.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "core/client.h"
#include "core/device_code.h"
#include "core/secret.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth::testing {

inline constexpr char kBeginPath[] = "/oauth/device/begin";
inline constexpr char kTokenPath[] = "/oauth/device/token";
inline constexpr char kApprovePath[] = "/oauth/device/approve";
inline constexpr char kDenyPath[] = "/oauth/device/deny";
inline constexpr char kDeviceCodeUrn[] = "urn:ietf:params:oauth:grant-type:device_code";

inline constexpr char kConfidentialSecret[] = "conf1-secret-0123456789";
inline constexpr char kApproverSecret[] = "bank-secret-0123456789";

struct DeviceCodes {
  std::string device_code;
  // As returned, XXXX-XXXX.
  std::string user_code;
};

class OAuthFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>([this](Config& config) { adjustConfig(config); });
    server_->addPublicClient("pub1", {"read", "write"});
    server_->addPublicClient("pub2", {"read"});
    server_->addConfidentialClient("conf1", kConfidentialSecret);
    server_->addConfidentialClient("bank", kApproverSecret, /*may_approve=*/true);

    Client nodev = makePublicClient("nodev", {"read"});
    nodev.device_grant = false;
    insertClient(nodev);
  }

  // Changes the server configuration before it starts; the default keeps it.
  virtual void adjustConfig(Config& /*config*/) {}

  TestServer& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }

  Client makePublicClient(const std::string& id, const std::vector<std::string>& scopes) {
    Client client;
    client.id = id;
    client.name = "Client " + id;
    client.type = ClientType::Public;
    client.allowed_scopes = scopes;
    client.default_scopes = scopes;
    client.created_at = server_->clock().now();
    return client;
  }

  void insertClient(const Client& client) {
    auto inserted = server_->store().insertClient(client);
    ASSERT_TRUE(inserted.hasValue()) << inserted.error().message;
  }

  HttpResult begin(const Fields& fields, const Fields& headers = {}) {
    return postForm(port(), kBeginPath, fields, headers);
  }

  // Starts a device authorization for a public client and returns its codes.
  DeviceCodes beginFor(const std::string& client_id) {
    const HttpResult result = begin({{"client_id", client_id}});
    EXPECT_EQ(result.status, 200u) << result.body;
    const boost::json::object body = jsonObject(result);
    DeviceCodes codes;
    if (const auto* device_code = body.if_contains("device_code");
        device_code && device_code->is_string()) {
      codes.device_code = device_code->get_string();
    }
    if (const auto* user_code = body.if_contains("user_code");
        user_code && user_code->is_string()) {
      codes.user_code = user_code->get_string();
    }
    EXPECT_FALSE(codes.device_code.empty()) << result.body;
    return codes;
  }

  HttpResult poll(const std::string& device_code, const std::string& client_id = "pub1") {
    return postForm(
        port(), kTokenPath,
        {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}, {"client_id", client_id}});
  }

  // The stored authorization of `device_code`; fails the test when it is missing.
  Authorization stored(const std::string& device_code) {
    auto found = server_->store().findByDeviceCode(deviceCodeKey(device_code));
    EXPECT_TRUE(found.hasValue());
    if (!found.hasValue() || !found->has_value()) {
      ADD_FAILURE() << "no authorization for the device code";
      return {};
    }
    return **found;
  }

  void approveInStore(const std::string& device_code, const std::string& subject = "sub-alice") {
    auto approved = server_->store().approve(stored(device_code).id, subject, std::nullopt,
                                             server_->clock().now());
    ASSERT_TRUE(approved.hasValue()) << approved.error().message;
    ASSERT_TRUE(*approved);
  }

  void denyInStore(const std::string& device_code, const std::string& subject = "sub-alice") {
    auto denied = server_->store().deny(stored(device_code).id, subject, server_->clock().now());
    ASSERT_TRUE(denied.hasValue()) << denied.error().message;
    ASSERT_TRUE(*denied);
  }

  // Every byte of every file in the server's directory: the SQLite file and its journal.
  std::string databaseBytes() {
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(server_->directory())) {
      std::ifstream file(entry.path(), std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    return bytes;
  }

  static boost::json::object jsonObject(const HttpResult& result) {
    boost::system::error_code error;
    boost::json::value value = boost::json::parse(result.body, error);
    if (error || !value.is_object()) {
      ADD_FAILURE() << "the body is not a JSON object: " << result.body;
      return {};
    }
    return value.get_object();
  }

  static std::string stringField(const boost::json::object& body, const char* name) {
    const auto* value = body.if_contains(name);
    if (!value || !value->is_string()) {
      return {};
    }
    return std::string(value->get_string());
  }

  // Asserts a JSON response that must not be cached (RFC 6749 §5.1).
  static void expectNoStoreJson(const HttpResult& result) {
    EXPECT_EQ(result.header("Content-Type").rfind("application/json", 0), 0u)
        << result.header("Content-Type");
    EXPECT_EQ(result.header("Cache-Control"), "no-store");
  }

  // Asserts an RFC 6749 §5.2 error response with `status` and `error`.
  static void expectOAuthError(const HttpResult& result, unsigned status,
                               const std::string& error) {
    EXPECT_EQ(result.status, status) << result.body;
    expectNoStoreJson(result);
    EXPECT_EQ(stringField(jsonObject(result), "error"), error) << result.body;
  }

 private:
  std::unique_ptr<TestServer> server_;
};

}  // namespace devauth::testing
