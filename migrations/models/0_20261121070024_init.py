from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "users" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "username" VARCHAR(32) NOT NULL,
    "username_key" VARCHAR(32) NOT NULL UNIQUE,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "about_me" VARCHAR(280) NOT NULL,
    "locale" VARCHAR(8),
    "session_epoch" INT NOT NULL,
    "last_seen" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "password_reset_tokens" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "follows" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "followed_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "follower_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_follows_followe_fa2a56" UNIQUE ("follower_id", "followed_id")
);
CREATE INDEX IF NOT EXISTS "idx_follows_followe_6f1784" ON "follows" ("followed_id", "follower_id");
CREATE TABLE IF NOT EXISTS "posts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body" VARCHAR(280) NOT NULL,
    "language" VARCHAR(8) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "author_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_posts_author__f3ea3f" ON "posts" ("author_id", "id");
CREATE TABLE IF NOT EXISTS "comments" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body" VARCHAR(280) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "author_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "post_id" BIGINT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_comments_post_id_ecfb9d" ON "comments" ("post_id", "id");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztnFuT2jYUx78K46ftTJsh5rI0b0DYhqYLmV3SdrKT0QhbgAdbcmxRlkn57pVkG9+9mA"
    "UCrt7YIx1b/un2P8fyflcsoiPTffPZRY7yrvZdwdBC7EfM/nNNgbYdWrmBwqkpKq5YDWGB"
    "U5c6UKPMOIOmi5hJR67mGDY1CGZWvDJNbiQaq2jgeWhaYePbCgFK5oguREOevjKzgXX0jN"
    "zgT3sJZgYy9Vg7DZ3fW9gB3djCNsT0TlTkd5sCjZgrC4eV7Q1dELyrbWDKrXOEkQMp4pen"
    "zoo3n7fOf8zgibyWhlW8JkZ8dDSDK5NGHncKQpsCwGg8AY+DCQBKCUAawRwua6ornn7Om/"
    "CL+rZ52+w02s0OqyKaubPcbr1bh2A8R4FnNFG2ohxS6NUQjEOovE/F7xTa/gI62WyjPgnC"
    "rOlJwgHPIsSBIWQcjqtzQLbgMzARntMF+7OhFhD9s/vQ/9B9uGmoP/EbEjYNvMkx8ktUUc"
    "ShpyGDJdocAjrwOw7sHzueT4waWdAwyzDeOVQOrtpq7kGX1crFK8rifG3oumvi6GAB3UUZ"
    "zinHCq4caqu1F/FWAfFWkjickhUF5VboqM/5OCvKeSh36vtQ7tTzKfOyOGWTaNAsxTj0OI"
    "iwvy5c5kDu7AG4k4u3k4TrItdl7QHIJlrGopEr4lJ+L+u5Y43l+kXruci4hS4FLkI4jfU9"
    "Q0INC+UM36hjgqvue74JflzjyuwgqI+xufHnWgHVyfB+8Djp3n/it7Nc95sp8HUnA16iCu"
    "smYb1pJ4b/7iK1v4aTDzX+Z+3LeDQQeIlL5464Y1hv8kXhbYIrSgAmawD1iFwIrAG1WJ9r"
    "7NFYPwBIy3Z63FP2+qX3Oo+FZ8tI4MYNU6gt15ApqVhJODwoWSLspodGz/e7+/iATCjIpg"
    "eBnwzo2saEX+YKh8A2GPSBNRwKISPWLYiCY5D65OvaB37FSjObEdMka+QAB2VEWGWY3Ykr"
    "VZsTu4wEVQyKL5CvnX3sElXFoxHLQvi1hPreVaoEiW+CRCV522K6yFKtpAViOBePxO/N75"
    "Tc+DIy5NFNMT9LDm0jsrHIVHllUuWiU0vnveJelUsytvfJMbbzU4ztVIZRRjf56KsV3cTy"
    "9s+2wa52QK/HPSvY61fSywGTwm7mb7RAqd0p4nG+7N+F71KptEAccJruHXGQMccf0UZAHr"
    "IWQaxlJa8ThwGuDG6eZGRmB653Qik6qNizsydG1NvGu4/97vuBss3Ps5xSfGbkEjJkaHbG"
    "IV+Q7t68JZMeUpte1ayX2lRq08tdeqU2ldr0Ynt5X216yMyOuB2hgy/sWEDF+lfGHq9WIT"
    "L2qGbs4b9qyog3wpdQ+TGG987rBFHF0+61oxhZ3m9d+ZqINp7CorCa41WTUci5ohApj/PR"
    "V1ceBzOv3N6a8JL7a8bhvt2Ji0PISuWyv3KJ7TFSvRSol8TgylYwWauDRLsnWv0CxaE4Zp"
    "OVivaP3xQkn4MzPidNNj/xHWpBxOgw9JKyr2fM/y/K71dVbTRu1Xqj3Wk1b29bnfpuIU0X"
    "Fa2oveFvfFGNSY6X9eGU6KW+fwvqV/FToZN8xALxfMVmcBnGUZ/KfSp05O9YZHyTz7268Y"
    "23tZTT4DEfqcBfVuDh/i1FYpFIjA2sshJRni3+oWeLA1wZQjpCMl9LRzvtxHLa9oW9FNNS"
    "TF/i/D2DmJZiT4o9KfaOk8jmnZTJtGi7iDhVCeoZto0CnR1s7K9U2RX77i6psiND7+UMtw"
    "xdzhC6nPSbP+QY2kLJ+uLPKylU5TCsI89TX9cGlS+u/0GO64e+++rriEsVJfZJ/rUVm1Ql"
    "CPvVK0j3bX2fAIbVyqUryhIBDMHUzynECf/+OB7lRC6hSzJsMTRa+7dmGte872fB5TBisU"
    "nA9Oa++3cSd/+PcS8ZdPAL9LJE1zk3s+1/y0aOOA=="
)
