from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "tasks" (
    "id" VARCHAR(32) NOT NULL PRIMARY KEY,
    "name" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "progress" INT NOT NULL,
    "result" JSONB,
    "error" TEXT,
    "attempts" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_tasks_user_id_3976ae" ON "tasks" ("user_id", "name", "created_at");
        CREATE TABLE IF NOT EXISTS "scheduled_posts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body" VARCHAR(280) NOT NULL,
    "publish_at" TIMESTAMPTZ NOT NULL,
    "post_id" BIGINT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "author_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_scheduled_p_author__4a559a" ON "scheduled_posts" ("author_id", "publish_at");
CREATE INDEX IF NOT EXISTS "idx_scheduled_p_publish_dc35b8" ON "scheduled_posts" ("publish_at");
COMMENT ON TABLE "scheduled_posts" IS 'A post written now to appear later: invisible (it is not a post yet) until the worker';
        ALTER TABLE "users" ADD "message_digest_id" BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE "users" ADD "email_on_messages" BOOL NOT NULL DEFAULT True;
        ALTER TABLE "users" ADD "email_on_comment" BOOL NOT NULL DEFAULT True;
        ALTER TABLE "users" ADD "email_on_follow" BOOL NOT NULL DEFAULT True;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "users" DROP COLUMN "message_digest_id";
        ALTER TABLE "users" DROP COLUMN "email_on_messages";
        ALTER TABLE "users" DROP COLUMN "email_on_comment";
        ALTER TABLE "users" DROP COLUMN "email_on_follow";
        DROP TABLE IF EXISTS "scheduled_posts";
        DROP TABLE IF EXISTS "tasks";"""


MODELS_STATE = (
    "eJztXWtz2zYW/SsYfVln1utx5Mj2ZnZ2xnac1m1sd2J1t9Okw0IkLGFMASwJWvZ0898XAE"
    "nxIZAi9TLN3g+ZWCAuSB6AwDnAxcWfvSl3iBsc/BwQv/ce/dljeErkH7n0fdTDnpemqgSB"
    "R67OGMocOgWPAuFjW8jEe+wGRCY5JLB96gnKmUxloeuqRG7LjJSN06SQ0T9CYgk+JmKiH+"
    "TLbzKZMoc8kSD56T1Y95S4Tu45qaPurdMt8ezptCsmPuqM6m4jy+ZuOGVpZu9ZTDib56ZM"
    "qNQxYcTHgqjihR+qx1dPF79m8kbRk6ZZokfM2DjkHoeuyLzuyErTepZ1czu07i6HltVrAJ"
    "DNmQJXPmqg336sHuEf/bfvTt6dHh2/O5VZ9GPOU06+RbdOgYkMNTw3w943fR0LHOXQGKeg"
    "qjrVfy9AezHBvhnbrE0BYfnoRYQTPKsgThJSjNN2tQuQp/jJcgkbi4n8edSvQPQ/Z58vvj"
    "/7vHfUf6NuyOVnEH0cN/GVvr6kQF8E2Xogz6sAndhtBuyXbc9bhppMMXWbYDw36By4/cG7"
    "GujKXKXw6mt5fD0cBDPuO9YEB5MmOC8YdrDn6A8GtRAfVCA+KCKORzwUVrMeOmuzO5x7vd"
    "2gfHpYB+XTw3KU1bU8yi63sdsI49RiJYTjfqGdDfm0BsCnpfCeFsENSBDI57GIx21Dp1FK"
    "4hbslvO5TbXlw1bzuUy7xYGwyCNhwmrEjxfsANoitCHzCXYsxgW9pzZWjxM0QLjMHIAuAX"
    "oqv3Y8JitgnLUEeIvwaoZrSUzuuevy2SK855y7BLMKfpy3LkA8kubbwjhhz1uAuQLD89vb"
    "T6rkaRD84eqEq2FhsPv5+vzy895bPQbKTFSQJeDbfDolUWNcBf2MOcC/AvzlnUs9/Cu6GK"
    "iAigqIcbMcKsEzc5RzOi7t4I3mneni/9nvHx2d9A+Pjk8H705OBqeH875+8VJVp39+9Z2C"
    "PldFJVwxIIQt1sEHCZygU1JBFhPDAvpObHmQ/PEaVbxiEbfMfY6/uAqkh1fXl3fDs+ufct"
    "/Hh7PhpbrS16nPhdS944JUmheC/ns1/B6pn+jX25tLDS8PxNjXd0zzDX/tqWfCoeCSUM4s"
    "7GSmlpLUBLVcndvy1WQ9WNgw8lRXet4Sar3tta7WTe4fMpP8KmGE7YcZ9h0rdyVtHoI/EJ"
    "OqOY/tPv74mbhauxgaQbxwdObRoSrmFTaBb0mjT1LTppBiJKuFCGsTSP0Uz4F+ViV2GrNI"
    "LBDf8olhNr4JZh/nsqO7OMliAKhqoFQHue7XJ4voKjyxPFwToYtUZHYRpCUzeU2QuskU1V"
    "W49Ozwmjgpp5LLxw63KZ/YhD6SqtnLJnhdR6V0Fa1ArTcAUjWQ+vu6PTl7JH7Q6f7Jzrzj"
    "2gNf9+Eaudx+kB3VyOCC1ASrc1VOp0FaszF1GiCBg3XxGcoiugpPYE+IE7ryM9uAYLlLCu"
    "uaclEzU7zPy+aqFi9N+9NiCmZy9Hfie6s7FWejDC7O2Zmqcjdn7NHMbA/4Ou9uQnbLvs66"
    "Uhs7LuatOuclelzHSfS43Ef0eMFFFJYcyqHv1pJDbrbgyaOytBVqPW/ZwVp/JbWcYFJZzW"
    "pLQjNPw4zF7hbuWz5KLazV5QFeRPcj9wkdsx/Jswb5Sj4RZrbJ+7iwm+uVgVtGGWWyj2dz"
    "opRtVPLd5RuTyAHl4uzu4uzDZe9b+eLnNsmnYYHPQEPNy4DlhHS+daK4Egnc9FV99cBNgZ"
    "u2t+sFbgrctLW1XJebrvJlZ8w2UMEt29fVsfoF7bE2CwHt0U3tEft/GfRG6hlWrjEiR7Qt"
    "qIovc19A3bKiv53ebwW18SW9lGbzo2ygQnalQoAel0PfXXqcfHnNxtaCFYyvhh03czfoVZ"
    "AF5lKfueTGGGAvFeyl0LjMDMbUOwC0NaF1WkgOtQeJaSo69iypmHxO/Fi2Otn8RY1QE65b"
    "B3Ua0r6qDaQdY3472TFazg9H3GkUwCzJ38VYT1uJQoTZOIy9mutinLXpXKynDQciAn1Tjn"
    "t39U00tDTj4DkbYODLGXg6fgNJrCKJuYbVlCLChr8X9S1O4DIQ6QyS5Vw6W2lbptNeTOyB"
    "TAOZbuP3uwMyDWQPyB6Qvc1MZKtKahy8K2PUJVB3MGxU8OxkYF+TZXdsS1mRZWea3vIZbp"
    "AuO5Au2+TluWgcBnJejNZRztAXQoRsmaYnHjdA01tL0x/kyzeh6Un+DtL0zR/XoVBfBPeH"
    "u9sbM7hJ/iInp7ZA/0Mu3d6g1vvXfchshR8ahdQVlAUH6rb/3tZEeAXUCp8cHU8g3rs++6"
    "WI/sWn2/Miz1YFnINcArmk32yFKs+Ygc80+Ey3+uMFn+mXlw4t9ZlOw9MZVEMudl31qYhW"
    "GitvqWDonSGP+AFn2EXaDOEAUYFm8j8VH+092lNF7qPkdJY3iAbIISwgCDMHUabG20DWii"
    "oH6by9QmVt4x5fWcARRrZLVXliggUK8Cwu/gapuEDonvsqwZdNXNnieyGtb3SRGI2xp+7y"
    "SAMqoTvomSVSqonmp9MUfcVBKLVSKK1wCtHLHEDU8sEmF7K04dGcHT6Wc/ObgT387HJsaK"
    "/l+jNjsnsJ+jKUF8QmiM1cvtXFJogRECMgRsrESBLR2CBFMsGOy4VINq7ypvdwStHgRG0i"
    "4v8mWp7N5RObejTWTrC40VrODj5Ic3759vCwjhOSylbKMaOLBaoz/2Aa4Jwz6t75whDYBw"
    "jlZlYv4mGmGassmgG1NEw9RIN5M2BzNoDqcsKeMiag7FWUPdewlnt05egnIFuFbLEvbJMi"
    "yh3LYdx0kT+2o2rnReGskOXLNLeM6IWPvwUooA5B/F6tfmTKeS9/+3ymV0ji5RQP+0K2kj"
    "f76IF4AlGGpIRCQTwpm1uh2WzxX5l8GxbgyEEFB9EqDIol4T4KuM5K2Yg/qUUYztQP3TCR"
    "ogfLV2PiextUX5Ij9JyESIHca6fc0wf5JmcqN60KgzGcxLzGSczah2alSshYQg2sVgMhUy"
    "A2mYmeG3QG8o1JhUzPvwDoktibOUsQ369JfMeMoJlCzBuBRDR9TbBKBqtkLy8Ml66SGfoC"
    "QHXpxrRc/9cmsR0dW2hQ2fPzDMvldXps4qYXHqNTK3WLiA+wXM8d8K8iNCFELHC9DXK95P"
    "DYRp9U3giYiYHrxd3bKrgC46vP+DKjCNCTKnqSb1rLeV8yJgOwtYBtY2hYfRyzgfYlxzSX"
    "s775WdA72iSfOLdniESzhYZyf5s1HG1WoH+ZvcRTavtcNo7xQQy7AvWAkZml/pDNZWv7i7"
    "eztbucOMJWhi3uo5e9qwgNwQDL4U0tdhg0VmYNibObFv32uI43X5FTZ3z5jhf2i/hcUWoD"
    "zOXTnRkTWDcosl+JjHq+BTjL99+kFmttv2mZc+Sud98Q3zfFOxqSp7J9eolBF1xRq2T55S"
    "/DarTnqvzT7c13SfZiFeTRxkKQqWcK1VoekC5jAt1GsduAKahyqLs7BQWLzF2r9QSjTLXH"
    "T585fYYyGkxWqvaCKcSpaU81G75uWPSGRe+Xn6Zr6dbQO1v2Y6FLnLJznPIZ9qtm7YIkq1"
    "X/aCcVT0ZmRjOfSmbKkPyKkeBI3oRgH7myHfjvEWVxaBe0R4VyMmZcIBwZPhPxBoVMUFf7"
    "Ic+4H0/HF6PWbP4uX5kXjlw1EugQOFig3+MEOTD8vo9mE2pPUMQMA22ny1Ixa3xic99RZv"
    "KfgybELw1bszBpmQaVTe/Wk7m+5H6Dn3Qr/aRhW+x2Q/NnPoGGpC5v2UEu3yVS9yJR41tG"
    "0l/GvR2mSMor5HWKZZgi+SvWep0pEjjxpLd9+QxnRNQT0K09I+KM+FLn9QzaOb6yXyWacZ"
    "pnm74u4Mq8S1dmtdU63jleV+hlTLqo9QaDOlpvMCjXeupaYflTflQNEI6zdxDdt3XjS1WF"
    "l1qIe8SZMMa5KPehyJhADNOGXhQLDGGXg9m3/wNRYgoe"
)
