"""Every size limit users meet, in one place: the models size their columns with these, the
services check them, the forms tell the browser, and the real-time events declare them."""

USERNAME_MIN = 3
USERNAME_MAX = 32
EMAIL_MAX = 254  # RFC 5321's longest usable address
PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # hashing a longer one would be a cheap way to burn our CPU
ABOUT_ME_MAX = 280
POST_MAX = 280
COMMENT_MAX = 280
MESSAGE_MAX = 1000
CLIENT_ID_MAX = 64  # a browser tab's id for a message it is sending

# ids and page numbers arrive as text; anything outside these is refused before a query
# (PostgreSQL's integer and bigint: users are `integer`, posts, messages... `bigint`)
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
PAGE_MAX = 100_000  # page × per_page stays a sane OFFSET
MAX_PER_PAGE = 100
TASK_ID_MAX = 32
TOKEN_MAX = 200  # reset and unsubscribe links' tokens
TAG_MAX = 64  # a hashtag's name, without its '#'
TAGS_PER_POST = 20  # a post's hashtags beyond this are text, not tags
MENTIONS_PER_TEXT = 10  # people notified by one post or comment; more @names are text
SEARCH_QUERY_MAX = 500  # characters of a search query
SEARCH_HITS_MAX = 1000  # how deep search results go (page × per_page)
