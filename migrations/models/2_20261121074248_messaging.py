from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "messages" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body" VARCHAR(1000) NOT NULL,
    "client_id" VARCHAR(64),
    "created_at" TIMESTAMPTZ NOT NULL,
    "recipient_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "sender_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_messages_sender__9a6e09" UNIQUE ("sender_id", "client_id")
);
CREATE INDEX IF NOT EXISTS "idx_messages_sender__e17a87" ON "messages" ("sender_id", "recipient_id", "id");
        CREATE TABLE IF NOT EXISTS "conversations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "last_message_id" BIGINT NOT NULL,
    "last_read_id" BIGINT NOT NULL,
    "unread" INT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "partner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_conversatio_user_id_26f928" UNIQUE ("user_id", "partner_id")
);
CREATE INDEX IF NOT EXISTS "idx_conversatio_user_id_1f0c4c" ON "conversations" ("user_id", "updated_at");
COMMENT ON TABLE "conversations" IS 'One user''s side of a conversation: a row per (user, partner), kept in the same';
        CREATE TABLE IF NOT EXISTS "blocks" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "blocked_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "blocker_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_blocks_blocker_9b7abb" UNIQUE ("blocker_id", "blocked_id")
);
        ALTER TABLE "users" ADD "unread_messages" INT NOT NULL DEFAULT 0;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "unread_messages";
        DROP TABLE IF EXISTS "conversations";
        DROP TABLE IF EXISTS "blocks";
        DROP TABLE IF EXISTS "messages";"""


MODELS_STATE = (
    "eJztXWtv4zYW/SuEv+wMdjrIOHHiHSwWcNLMNm0nKWa826LTQqAl2iYsk6pIJxN089+XpC"
    "TrYUq2/Iqi3k+JKV6KOrwizyGvyD87c+4RX7z9jyBh5z36s8PwnKh/culvUAcHQZqqEyQe"
    "+SbjQuUwKXgkZIhdqRLH2BdEJXlEuCENJOVMpbKF7+tE7qqMlE3SpAWjfyyII/mEyKmpyJ"
    "ffVTJlHvlKRPIzmDljSnwvV0/q6XubdEc+BibthskPJqO+28hxub+YszRz8CinnC1zUyZ1"
    "6oQwEmJJdPEyXOjq69rFj5k8UVTTNEtUxYyNR8Z44cvM446cNK3jOLd3Q+fz9dBxOjUAcj"
    "nT4KqqCvP0E12Fb7rvzi7O+qfnZ32VxVRzmXLxFN06BSYyNPDcDjtP5jqWOMphME5B1W1q"
    "/l+B9mqKQzu2WZsCwqrqRYQTPKsgThJSjFO/OgbIc/zV8QmbyKn6edqtQPS/g09X3w0+vT"
    "rtvtY35Oo1iF6O2/hK11zSoK+C7MzI4zZAJ3b7Aft5/fnAUJM5pn4djJcGrQO32zvbAF2V"
    "qxRecy2Pb4CFeOCh50yxmNbBecWwhT1Ht9fbCPFeBeK9IuJ4xBfSqddDZ22Oh3OncxyU+y"
    "eboNw/KUdZX8uj7HMX+7UwTi22QjjuF5rpyP0NAO6XwtsvgiuIEKo+Dgm4a+k0Skncit16"
    "PrcvXz5pNJ/L+C0W0iH3hEmnFj9esQNoi9AuWEiw5zAu6Zi6WFdH1EC4zByALgF6rt52PC"
    "FbYJy1BHitXYQghK0C+62CRNI5qegjEsMCrl5s+Tb55yWSN+08d8x/jIfjClSHNx+vPw8H"
    "H3/St5sL8Ydv4BsMr/WVrkl9LKS+Oi+MkMtC0M83w++Q/ol+vbu9NvByISehuWOab/hrR9"
    "cJLyRX/ciDg72MokhSE9Rybe6qR1Pt4GBZt9HzltDqTW91PV02nmXmdnTCCLuzB6zEVu5K"
    "6h6Sz4htMLuM7T788In4ZsiyOEE8XzgI6FAX8wJd4Clx+iQ1dYUUI9UsRDr7QOqnWPp+0i"
    "W2GrMx933+QEInJJZJmDqYfTAltRsnVQwAVQ2U7iB3fftUEW2Fx+XzOWG7InQVldJWkNYI"
    "uDpI3WaKaitcZlJgR5z0WuL1fYt9KiQuofekSrTWwetjVEpb0RJ6mgmQ2gCpv+/ak7N7Eo"
    "pW909u5hl3HvjaD9fI5+5MdVQjy8pzHawudTmtBmlHZ2odQHoigXd52dTC6qV5d15MwUx1"
    "1l58b32n4uSBJRApO7FQHoyEA5oR5xCR1JqIJNOotcML8lati+U43ySU47w8kuN8JZADZo"
    "jLoW/XDHFO3H0NqCpti1bPW7aw1V9IKyeYVDazDhysFw+QsTjeCmrDR6mVpZU8wKvofuAh"
    "oRP2A3k0IN+oGmHm2mKECjHXLwzcMsqokkP8sCRKWadSz66emMhoGB98vhp8e915Kl+rOi"
    "T5tKzHWGiofdWmnJAuAxyLC0fATV/UWw/cFLhpc7te4KbATRvbypty023e7IzZHhq4YdHX"
    "LWtf0B47sxDQHu3UHnG4jkVvpIE85Rojihs6gKr4sgzdMp4V/e91fi+ojS/ppTRbGGUDFX"
    "IsFQL0uBz69tLj5M2rN7YWrGB8tXwgsYxa3QZZYC6bM5fcGAPspYK9FJzLzmBsvQNAuyG0"
    "XgPJoQlVtk1FxyHMFZPPSZz0QSebv+gRasqNd1CvJu27pJO/CvP7R7d7enrRPTk97/fOLi"
    "56/ZNlR7p6qapHvbz5t+5Uc5RjPT8cca/WNiNJ/jbuyHCQvQIwmyziINSNdwvI2LRuR4Y9"
    "bxcA+qYc9/bqm2hoqcfBczbAwNcz8HT8BpJYRRJzjlWXIsL3Wc8aW5zAZSHSGSTLuXS20Q"
    "5Mp4OY2AOZBjLdxPf3CGQayB6QPSB7+5nI1o1kxbRquMgYtQnUIwwbFTw7Gdh3ZNkt27ug"
    "yLIzrrd+hhukyxGkyyF5eW7zBAs5L26uUM7QV3Z0ODBNTyJugKY3lqbP1MPXoelJ/hbS9P"
    "1vqq1RXwX3+893t3Zwk/xFTk5dif6HfHq4Qa3zz/GCuRo/NFpQX1Im3urb/utQE+EVUGt8"
    "cnQ8gfjVx8EvRfSvfry7LPJsXcAlyCWQS+bJtmjyjBnETEPMdKNfXoiZfn7p0NCY6XQ3sZ"
    "Jji5ZbjVWfXeSkW5utFQydAQpIKDjDPjJmCAtEJXpQf/R2Vu/RK13kG5Tsof4aUYE8wgRB"
    "mHmIMj3eCtUquhxk8nYKjXWIe/zGBEcYuT7V5ckplkjgh7j4W3WDmUBjHuqEULm4tsVjqa"
    "xvTZEYTXCg73JPBVXQve3YJVKqiZZ7yBdjxUEoNVIobXFWwPMcE9DwwSa3w2TNA7RafHjW"
    "/j8GDvCjz7HFX8v1Z8bk+BL0eSgviE0Qm7l824tNECMgRkCMlImRZANaixTJ7E1bLkSy2+"
    "Du+xtOJRq8yCci/m+j5dlcIXFpQGPtBIsbjeXsEIO05JfvTk42CULS2Uo5ZnSxQHWWL0wN"
    "nHNG7TsFEDb2AUK5n9WLeJipxyqLZkAtLVMP0WBeD9icDaC6nrCnjAkoexVlzznW+oiuHP"
    "0EZKuQLfaFTVJEuVMUrB9d5E9ZqPryonC0w/plmjtGzMLH3wQS1COIj/XqR6ac9+p3yB/M"
    "Ckm8nBLgUCovef0GzUggEWVISSgk4knZ3ArNfov/jamnYQJHASpYRKswKJaEb5DgJitlI/"
    "5VL8Jwpn8Yx0SaHqxfjYnvbVF9SY5F4CVECuReM+WeOXc1dora4dwW49YciXuUdim0g4mh"
    "2aoRMpbQAtu1QHS+c52Z6KVBayDf3zHbac+/AuiavTdzliC+X5L4jhlBPYWYNwKJaHubYJ"
    "UMVsmeXxiuXSWz9AWA6toP03L9X5PEdnTKnEVlL4+fK5fX6Sl3+154jA4ZNB4Rnze4Wzjg"
    "X0VowhaxwPX2yPWSsz5rvVJ5I2AmFq4Xd2/b4AqMb3PGlxlFgJ5U0ZO8a63nfcmYDMBuBG"
    "wTt4YdkJC6Uxvxi69UMj+c5oHDyF5Sb1nF8fQaVLyktmnAUsakhbFh3V5vg4Allat8fyp9"
    "LT/265eqBsJx9hai+27TwLuquLuVgDDOpDUAoPzjjowJfNxR8+OOFfJ1zMHs6f+uNzAp"
)
