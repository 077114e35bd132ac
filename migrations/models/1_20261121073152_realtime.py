from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "notifications" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(32) NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "read_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_user_id_bf5d2b" ON "notifications" ("user_id", "id");
        CREATE TABLE IF NOT EXISTS "user_events" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "event_id" INT NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_user_events_user_id_31f4c6" UNIQUE ("user_id", "event_id")
);
COMMENT ON TABLE "user_events" IS 'A personal event as it was sent: (user, event_id) is dense and increasing per user,';
        ALTER TABLE "users" ADD "last_event_id" INT NOT NULL DEFAULT 0;
        ALTER TABLE "users" ADD "unread_notifications" INT NOT NULL DEFAULT 0;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "last_event_id";
        ALTER TABLE "users" DROP COLUMN "unread_notifications";
        DROP TABLE IF EXISTS "user_events";
        DROP TABLE IF EXISTS "notifications";"""


MODELS_STATE = (
    "eJztXW1v2zYQ/iuEPqVAF6ROnHjFMMBJkzXb6hSJ94JmhUBLtE1YJlWRqmt0+e8jKcl6Vy"
    "zHdhSNn2wf70jq4ZF8jqTo78ac2shhh38w5BlvwXeDwDkSX1Ly18CArhtLpYDDkaMUfaGh"
    "JHDEuActLoRj6DAkRDZiloddjikRUuI7jhRSSyhiMolFPsFffGRyOkF8qipy/1mIMbHRN8"
    "Sin+7MHGPk2Kl6YluWreQmX7pKdk34lVKUpY1Mizr+nMTK7pJPKVlpY8KldIII8iBHMnvu"
    "+bL6snbhY0ZPFNQ0VgmqmLCx0Rj6Dk887siMZYZpDm6G5t3l0DSNGgBZlEhwRVWZevqJrM"
    "IPnTcnZye949OTnlBR1VxJzh6ComNgAkMFz2BoPKh0yGGgoTCOQZVtqr7noL2YQq8Y26RN"
    "BmFR9SzCEZ5VEEeCGOPYr/YB8hx+Mx1EJnwqfh53KhD9s3978b5/e3DceSULpKIbBJ1jEK"
    "Z0VJIEPQ+yOUPLTYCO7LYD9vP6846hRnOInToYrwxaB26ne7IGukKrFF6VlsbXhYwtqGeb"
    "U8imdXDOGbZw5Oh0u2sh3q1AvJtFHI6oz816I3TSZn84G8Z+UO4drYNy76gcZZmWRtmhFn"
    "RqYRxbbIRwOC4005F7awDcK4W3lwWXIcZEfUzkUqtg0CglcTm7x/nctnz5qNF8LuG3kHET"
    "fUWEm7X4cc5OQ5uF1icegrZJKMdjbEFZHVYD4TJzDXShDzOESB7ddwISjueowokjwwyudm"
    "h5GH15iexCetANcZbhfFGB6vD6w+XdsP/hoyxuztgXR8HXH17KlI6SLjPSg9PMEL7KBPx1"
    "PXwP5E/w6WZwqeCljE88VWKsN/xkyDpBn1Ph6AsT2gnKG0kj1FJtbolHE+1gQl630dOWut"
    "Wb3upyPWc8Syw+SMEIWrMFFNFAKiV2D05nqGi0PQ/trn67RY4aUwucIFzQ6rt4KLN5gS7w"
    "EDl9JI1dIcZINAvi5jaQ+hjGZrcyx1ZjNqaOQxfIMz1UsEpQB7MrlVO7cRLZaKCqgZID5F"
    "N7n8iirfBYdD5H5KkIXQS5tBWkRyKMOkgNElm1FS4VtT4RJ7nZdfm1ZT4liRXt0DKqlU+a"
    "d+ZZCSRwoh5Jli1LypKpgp3DJNEq3z2ELk6QFb2F2JotRNWotfcD0lat23w5XWfv5bR86+"
    "U0t/OiI+Zy6NsVMacmu28uFrlt0Oppyxa2+gtp5QiTymaWO/31FvATFvtbUW74LJVbakoD"
    "nEf3inoIT8hvaKlAvhY1gsQq2tTLHJJ6YeCWUUYh9uBiRZSSTiWeXTwx4sE03r+76L+7NB"
    "7K1+52ST4L1qcKaGjxKlY5IV2dSMgupGlu+qJ6veammps2d+jV3FRz08a28rrcdJOenTDb"
    "QgM37LhUy9pXxx5PZiE69mhn7BFuXxbEG/HGZnmMEeyj7iCquF9tZSvPCr7bxudMtHEfJ8"
    "VqXqCmo5B9RSGaHpdD3156HPW8enNrxkrPrwUHRleneDZBVjOX9ZlLao7R7KWCvWScq5jB"
    "FI0OGto1obUbSA7V0a2ipejwSFfF4nN0bmyni833coaaUuUd2K5J+87x5P/C/H7sdI6Pzz"
    "pHx6e97snZWbd3tBpI80lVI+r59S9yUE1Rjsf54Yjatd4LjvTb+ArlTl7ug2Tiix5cB+Ok"
    "Teteodzy+306vinHvb3xTTC11OPgKRvNwB9n4PH8rUliFUlMOVZdiqjPqz/r2eIIrgIinU"
    "CynEsnG23HdNoNib0m05pMN7H/7oFMa7KnyZ4me9tZyJaNVIhp1XSRMGoTqHuYNip4djSx"
    "P5Flt+xdzizLTrje4yvcOnTZQ+iyS16eepm0gJxnXzYtZ+i5N1x3TNOjEzeapjeWps/Ew9"
    "eh6ZF+C2n69m/BlKjnwf317mZQDG6kn+Xk2OLgX+Dg3U1qxk9jn1gSPzDyscMxYYey2J93"
    "tRBeAbXEJ0XHI4gPPvT/zqJ/8fvNeZZnywzOdbikwyX1ZBs0ecJMn5nWZ6Yb3Xn1mennDx"
    "0aemY6vl2l5H8GVlevVP/ZgBlf9fJowGD0gYs8Rgl0gDIDkAHMwUJ8MPHzLTiQWb4G0aWn"
    "rwBmwEaEIQCJDTCR8y0TrSLzAUrXyDTWLsr4hzAKILAcLPPjU8gBg4sw+4EoYMbAmHpS4A"
    "kXl7ZwzIX1QGUJwQS6spSvmGEB3aFRHCLFMdHq0tfsWXEdKDUyUNrgct/nude34ZNN6sat"
    "mv940eJ/u9j+y8AuXDoUFvhrefyZMNl/CPo8lFcHmzrYTOltHmzqYEQHIzoYKb25EHnYmh"
    "pF9xYGKZVhCIx19K0wL6k7V1FqEUqxcM9qXQaYMGkhCdzNHxeJTlUD4VC9hei+OVrnGJbQ"
    "KkVXpWWoHiU8XERZl2UnTDTLrsmyc+xgn5PZw38L0CC4"
)
