"""Tortoise models, one file per aggregate."""

from microblog.models.notification import Notification, UserEvent
from microblog.models.post import Comment, Post
from microblog.models.social import Follow
from microblog.models.user import ApiToken, PasswordResetToken, User

__models__ = [User, ApiToken, PasswordResetToken, Follow, Post, Comment, Notification, UserEvent]

__all__ = ["ApiToken", "Comment", "Follow", "Notification", "PasswordResetToken", "Post", "User",
           "UserEvent"]
