#pragma once

// The conformance tests of the per-client code settings (user code profile, code lifetime and
// poll interval), run on every backend with the factory of store_conformance.h:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, ClientCodeStoreTest, F);

#include <gtest/gtest.h>

#include <string>

#include "core/user_code_profile.h"
#include "store/store_conformance.h"

namespace devauth::testing {

template <typename Factory>
class ClientCodeStoreTest : public StoreConformanceTest<Factory> {
 protected:
  Client find(const std::string& id) {
    auto found = this->store().findClient(id);
    if (!found || !found->has_value()) {
      ADD_FAILURE() << "client " << id << " not found";
      return {};
    }
    return **found;
  }
};

TYPED_TEST_SUITE_P(ClientCodeStoreTest);

TYPED_TEST_P(ClientCodeStoreTest, NewClientHasDefaultProfileAndServerLifetimes) {
  const Client client = this->find(conformance::kClientId);
  EXPECT_EQ(toString(client.code_settings.user_code_profile), "letters:8:4");
  EXPECT_FALSE(client.code_settings.device_code_ttl.has_value());
  EXPECT_FALSE(client.code_settings.poll_interval.has_value());
}

TYPED_TEST_P(ClientCodeStoreTest, CodeSettingsRoundTrip) {
  Client client = conformance::makeClient("call-centre");
  client.code_settings.user_code_profile = *parseUserCodeProfile("digits:12:3:damm");
  client.code_settings.device_code_ttl = seconds(300);
  client.code_settings.poll_interval = seconds(3);
  ASSERT_TRUE(this->store().insertClient(client));

  EXPECT_EQ(this->find("call-centre").code_settings, client.code_settings);
  auto listed = this->store().listClients();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].id, "call-centre");
  EXPECT_EQ((*listed)[0].code_settings, client.code_settings);
}

TYPED_TEST_P(ClientCodeStoreTest, SetCodeSettingsReplacesThemPastTheCache) {
  // A cached lookup before the change must not hide the new settings.
  EXPECT_EQ(this->find(conformance::kClientId).code_settings, ClientCodeSettings{});

  ClientCodeSettings settings;
  settings.user_code_profile = *parseUserCodeProfile("digits:10:5");
  settings.poll_interval = seconds(9);
  ASSERT_TRUE(
      conformance::won(this->store().setClientCodeSettings(conformance::kClientId, settings)));
  EXPECT_EQ(this->find(conformance::kClientId).code_settings, settings);

  ASSERT_TRUE(conformance::won(
      this->store().setClientCodeSettings(conformance::kClientId, ClientCodeSettings{})));
  EXPECT_EQ(this->find(conformance::kClientId).code_settings, ClientCodeSettings{});

  auto unknown = this->store().setClientCodeSettings("no-such-client", settings);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(*unknown);
}

// The user code hash is unique across clients whatever their profiles, so one lookup by hash
// finds one authorization.
TYPED_TEST_P(ClientCodeStoreTest, UserCodeHashIsUniqueAcrossClients) {
  Client digits = conformance::makeClient("keypad");
  digits.code_settings.user_code_profile = *parseUserCodeProfile("digits:9:3");
  ASSERT_TRUE(this->store().insertClient(digits));

  Authorization first = conformance::makeAuthorization("first");
  first.user_code_hash = hashSecret("123456789");
  ASSERT_TRUE(this->store().insertAuthorization(first));
  Authorization second = conformance::makeAuthorization("second", "keypad");
  second.user_code_hash = hashSecret("123456789");
  auto inserted = this->store().insertAuthorization(second);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
}

TYPED_TEST_P(ClientCodeStoreTest, AcceptsRelayedTokensRoundTrips) {
  EXPECT_FALSE(this->find(conformance::kClientId).accepts_relayed_tokens);
  Client relaying = conformance::makeClient("relaying");
  relaying.accepts_relayed_tokens = true;
  ASSERT_TRUE(this->store().insertClient(relaying));

  EXPECT_TRUE(this->find("relaying").accepts_relayed_tokens);
  auto listed = this->store().listClients();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[1].id, "relaying");
  EXPECT_TRUE((*listed)[1].accepts_relayed_tokens);
}

TYPED_TEST_P(ClientCodeStoreTest, SetAcceptsRelayedTokensPastTheCache) {
  // A cached lookup before the change must not hide the new setting.
  EXPECT_FALSE(this->find(conformance::kClientId).accepts_relayed_tokens);

  ASSERT_TRUE(
      conformance::won(this->store().setClientAcceptsRelayedTokens(conformance::kClientId, true)));
  EXPECT_TRUE(this->find(conformance::kClientId).accepts_relayed_tokens);

  ASSERT_TRUE(
      conformance::won(this->store().setClientAcceptsRelayedTokens(conformance::kClientId, false)));
  EXPECT_FALSE(this->find(conformance::kClientId).accepts_relayed_tokens);

  auto unknown = this->store().setClientAcceptsRelayedTokens("no-such-client", true);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(*unknown);
}

REGISTER_TYPED_TEST_SUITE_P(ClientCodeStoreTest, NewClientHasDefaultProfileAndServerLifetimes,
                            CodeSettingsRoundTrip, SetCodeSettingsReplacesThemPastTheCache,
                            UserCodeHashIsUniqueAcrossClients, AcceptsRelayedTokensRoundTrips,
                            SetAcceptsRelayedTokensPastTheCache);

}  // namespace devauth::testing
