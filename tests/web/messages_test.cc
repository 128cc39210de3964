// The message catalogue and the choice of language from Accept-Language.

#include "web/messages.h"

#include <gtest/gtest.h>

#include <string>

#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth::web {
namespace {

TEST(MessagesTest, EveryMessageHasTextInEveryLanguage) {
  for (const Language language : kAllLanguages) {
    for (std::size_t index = 0; index < kMessageCount; ++index) {
      EXPECT_FALSE(messageText(language, static_cast<MessageId>(index)).empty())
          << "language " << languageTag(language) << ", message " << index;
    }
  }
}

TEST(MessagesTest, GermanDiffersFromEnglish) {
  EXPECT_EQ(messageText(Language::English, MessageId::ApproveButton), "Approve");
  EXPECT_EQ(messageText(Language::German, MessageId::ApproveButton), "Erlauben");
  EXPECT_EQ(Messages(Language::German).format(MessageId::TimeMinutesAgo, 3), "Vor 3 Minuten");
}

struct LanguageCase {
  std::string header;
  Language expected;
};

TEST(ChooseLanguageTest, FollowsQValuesWithEnglishFallback) {
  const LanguageCase cases[] = {
      {"", Language::English},
      {"de", Language::German},
      {"DE-at", Language::German},
      {"de-CH, en;q=0.8", Language::German},
      {"en-US,en;q=0.9,de;q=0.8", Language::English},
      {"fr, de;q=0.5, en;q=0.4", Language::German},
      {"fr, en;q=0.4, de;q=0.5", Language::German},
      {"de;q=0, en;q=0.1", Language::English},
      {"de;q=0", Language::English},
      {"de;q=0.5, en;q=0.5", Language::German},
      {"en;q=0.5, de;q=0.5", Language::English},
      {"de;q=0.001", Language::German},
      {"*", Language::English},
      {"fr-FR, es", Language::English},
      {"de;q=abc, en;q=0.1", Language::English},
      {"de;q=1.5, en;q=0.1", Language::English},
      {"de ; q=0.9 , en ; q=0.2", Language::German},
      {" , ;q=1, de", Language::German},
  };
  for (const LanguageCase& test_case : cases) {
    EXPECT_EQ(chooseLanguage(test_case.header), test_case.expected)
        << "Accept-Language: " << test_case.header;
  }
}

TEST(PageLanguageTest, AcceptLanguageChoosesPageLanguage) {
  testing::TestServer server;

  const testing::HttpResult german = testing::httpRequest(
      server.port(), "GET", "/device", {}, {{"Accept-Language", "de-DE,de;q=0.9,en;q=0.5"}});
  const testing::HttpResult english = testing::httpRequest(server.port(), "GET", "/device", {},
                                                           {{"Accept-Language", "fr, en;q=0.5"}});

  EXPECT_EQ(german.status, 200u);
  EXPECT_NE(german.body.find("<html lang=\"de\">"), std::string::npos);
  EXPECT_NE(german.body.find("<h1>Gerät verbinden</h1>"), std::string::npos);
  EXPECT_EQ(german.header("Content-Language"), "de");
  EXPECT_EQ(german.header("Vary"), "Accept-Language");
  EXPECT_NE(english.body.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(english.body.find("<h1>Connect a device</h1>"), std::string::npos);
  EXPECT_EQ(english.header("Content-Language"), "en");
}

}  // namespace
}  // namespace devauth::web
