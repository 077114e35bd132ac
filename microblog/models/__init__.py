"""Tortoise models, one file per aggregate."""

from microblog.models.message import Block, Conversation, Message
from microblog.models.notification import Notification, NotificationKind, UserEvent
from microblog.models.post import Comment, Like, Post, PostEdit, Repost, Translation
from microblog.models.social import Follow
from microblog.models.task import RUNNING, ScheduledPost, Task, TaskStatus
from microblog.models.user import ApiToken, PasswordResetToken, User

__models__ = [User, ApiToken, PasswordResetToken, Follow, Post, Comment, Notification, UserEvent,
              Message, Conversation, Block, Task, ScheduledPost, Translation, Like, Repost,
              PostEdit]

__all__ = ["RUNNING", "ApiToken", "Block", "Comment", "Conversation", "Follow", "Like",
           "Message", "Notification", "NotificationKind", "PasswordResetToken", "Post",
           "PostEdit", "Repost", "ScheduledPost", "Task", "TaskStatus", "Translation", "User",
           "UserEvent"]
