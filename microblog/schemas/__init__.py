"""Every shape the API and the real-time events show or accept, declared once (pydantic):
resources (what the API returns and the events carry), the collection envelope, and the
requests the API accepts. `field_errors` turns a validation failure into `{field:
message}` for the API's 400s and the socket acks alike."""

from microblog.schemas.base import (
    Body,
    Cursor,
    Query,
    RowId,
    Schema,
    Text,
    Timestamp,
    UserId,
    field_errors,
)
from microblog.schemas.collections import (
    Collection,
    ConversationPage,
    HistoryMeta,
    Links,
    MessageHistory,
    NotificationPage,
    PageMeta,
    SearchMeta,
    SearchResults,
)
from microblog.schemas.requests import (
    DeleteAccount,
    HistoryQuery,
    NewComment,
    NewMessage,
    NewPost,
    NewUser,
    PageQuery,
    PostChange,
    PostsQuery,
    ReadMessages,
    ReadNotifications,
    ScheduledPostChange,
    SearchParams,
    TranslationRequest,
)
from microblog.schemas.resources import (
    Comment,
    Conversation,
    Error,
    Message,
    Notification,
    NotificationFields,
    Post,
    PostEdit,
    PostHistory,
    PostHit,
    PostStats,
    ScheduledPost,
    ScheduledPostLinks,
    TagHit,
    Task,
    TaskLinks,
    TaskStarted,
    Token,
    Translation,
    TrendingTag,
    TrendingTags,
    Unread,
    User,
    UserRef,
)

__all__ = [
    "Body", "Collection", "Comment", "Conversation", "ConversationPage", "Cursor",
    "DeleteAccount", "Error",
    "HistoryMeta", "HistoryQuery", "Links", "Message", "MessageHistory", "NewComment",
    "NewMessage", "NewPost", "NewUser", "Notification", "NotificationFields",
    "NotificationPage", "PageMeta", "PageQuery", "Post", "PostChange", "PostEdit", "PostHistory",
    "PostHit", "PostStats", "PostsQuery", "Query",
    "ReadMessages", "ReadNotifications", "RowId", "ScheduledPost", "ScheduledPostChange",
    "ScheduledPostLinks", "Schema", "SearchMeta", "SearchParams", "SearchResults", "TagHit",
    "Task", "TaskLinks", "TaskStarted", "Text", "Timestamp", "Token", "Translation",
    "TranslationRequest", "TrendingTag", "TrendingTags", "Unread", "User", "UserId", "UserRef",
    "field_errors",
]
