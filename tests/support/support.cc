// Anchor for the test support library; the helpers live in headers and in sibling sources.
