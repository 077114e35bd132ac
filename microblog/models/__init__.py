"""Tortoise models, one file per aggregate."""

from microblog.models.message import Block, Conversation, Message
from microblog.models.notification import Notification, UserEvent
from microblog.models.post import Comment, Post
from microblog.models.social import Follow
from microblog.models.task import ScheduledPost, Task
from microblog.models.user import ApiToken, PasswordResetToken, User

__models__ = [User, ApiToken, PasswordResetToken, Follow, Post, Comment, Notification, UserEvent,
              Message, Conversation, Block, Task, ScheduledPost]

__all__ = ["ApiToken", "Block", "Comment", "Conversation", "Follow", "Message", "Notification",
           "PasswordResetToken", "Post", "ScheduledPost", "Task", "User", "UserEvent"]
