from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "likes" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "post_id" BIGINT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_likes_post_id_f5fa17" UNIQUE ("post_id", "user_id")
);
CREATE INDEX IF NOT EXISTS "idx_likes_user_id_776323" ON "likes" ("user_id", "id");
        CREATE TABLE IF NOT EXISTS "reposts" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "post_id" BIGINT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_reposts_post_id_abbe24" UNIQUE ("post_id", "user_id")
);
CREATE INDEX IF NOT EXISTS "idx_reposts_user_id_9333ee" ON "reposts" ("user_id", "id");
COMMENT ON TABLE "reposts" IS 'Someone shares a post with their followers. Its id comes from the posts'' sequence';
        CREATE TABLE IF NOT EXISTS "post_edits" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body" VARCHAR(280) NOT NULL,
    "written_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "post_id" BIGINT NOT NULL REFERENCES "posts" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_post_edits_post_id_ac6814" ON "post_edits" ("post_id", "id");
COMMENT ON TABLE "post_edits" IS 'A post''s text before one of its edits (its history, oldest first by id).';
        ALTER TABLE "users" ADD "email_on_mention" BOOL NOT NULL DEFAULT True;
        ALTER TABLE "posts" ADD "like_count" INT NOT NULL DEFAULT 0;
        ALTER TABLE "posts" ADD "repost_count" INT NOT NULL DEFAULT 0;
        ALTER TABLE "posts" ADD "comment_count" INT NOT NULL DEFAULT 0;
        ALTER TABLE "posts" ADD "edited_at" TIMESTAMPTZ;
        -- posts and reposts share one sequence, so one home timeline orders both by id
        ALTER TABLE "reposts" ALTER COLUMN "id" SET DEFAULT nextval('posts_id_seq');
        DROP SEQUENCE IF EXISTS "reposts_id_seq";
        -- counts change on every like: the hashtags and words of a post are recomputed only
        -- when an UPDATE changes its body or tags (a row trigger with a WHEN, instead of a
        -- statement trigger that ran on every UPDATE of posts)
        DROP TRIGGER posts_updated ON posts;
        CREATE FUNCTION mb_post_text_updated() RETURNS TRIGGER LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.tags IS DISTINCT FROM OLD.tags THEN
            DELETE FROM post_tags WHERE post_id = NEW.id;
            INSERT INTO post_tags (tag, post_id, author_id, created_at)
              SELECT DISTINCT t, NEW.id, NEW.author_id, NEW.created_at FROM unnest(NEW.tags) AS t
              ON CONFLICT DO NOTHING;
          END IF;
          IF NEW.body IS DISTINCT FROM OLD.body THEN
            INSERT INTO search_words (word) SELECT DISTINCT w FROM mb_words(NEW.body) AS w
              ON CONFLICT DO NOTHING;
          END IF;
          RETURN NULL;
        END $$;
        CREATE TRIGGER posts_text_updated AFTER UPDATE OF body, tags ON posts FOR EACH ROW
          WHEN (NEW.body IS DISTINCT FROM OLD.body OR NEW.tags IS DISTINCT FROM OLD.tags)
          EXECUTE FUNCTION mb_post_text_updated();
        UPDATE "posts" p SET "comment_count" = c.n
          FROM (SELECT "post_id", count(*) AS n FROM "comments" GROUP BY "post_id") c
          WHERE p."id" = c."post_id";
        COMMENT ON COLUMN "notifications"."kind" IS 'FOLLOW: follow\nCOMMENT: comment\nMENTION: mention\nLIKE: like\nREPOST: repost\nTASK_PROGRESS: task_progress';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TRIGGER posts_text_updated ON posts;
        DROP FUNCTION mb_post_text_updated();
        CREATE TRIGGER posts_updated AFTER UPDATE ON posts
          REFERENCING OLD TABLE AS old_posts NEW TABLE AS new_posts
          FOR EACH STATEMENT EXECUTE FUNCTION mb_posts_updated();
        ALTER TABLE "posts" DROP COLUMN "like_count";
        ALTER TABLE "posts" DROP COLUMN "repost_count";
        ALTER TABLE "posts" DROP COLUMN "comment_count";
        ALTER TABLE "posts" DROP COLUMN "edited_at";
        ALTER TABLE "users" DROP COLUMN "email_on_mention";
        COMMENT ON COLUMN "notifications"."kind" IS 'FOLLOW: follow\nCOMMENT: comment\nTASK_PROGRESS: task_progress';
        DROP TABLE IF EXISTS "reposts";
        DROP TABLE IF EXISTS "post_edits";
        DROP TABLE IF EXISTS "likes";"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfak95/ocx3Z8npubkV2l9cW2crbSdi7uMBAJSRhToEpAdjS9/PcDQF"
    "J8EUmRkijRzH5oaoJYkHoAAs8udhd/tcaORWx++IkTt3WB/moxPCbyj1j5AWrhySQsVQUC"
    "921dcSpr6BLc58LFppCFA2xzIosswk2XTgR1mCxlU9tWhY4pK1I2DIumjP45JYZwhkSM9I"
    "t8/kMWU2aRr4QHl5MnY0CJbcXek1rq2brcELOJLrtm4r2uqJ7WN0zHno5ZWHkyEyOHzWtT"
    "JlTpkDDiYkFU88KdqtdXb+f/zOAXeW8aVvFeMSJjkQGe2iLyc/tGWNYyjLtuz3jo9AyjVQ"
    "Ig02EKXPmqXP/6oXqFH4/fnLw7OX97dnIuq+jXnJe8++Y9OgTGE9Tw3PVa3/R9LLBXQ2Mc"
    "gqr6VP+9AO3VCLvp2EZlEgjLV08iHOCZB3FQEGIcjqttgDzGXw2bsKEYycu3xzmI/tq+v/"
    "qlfb/39nhfPdCRn4H3cdz5d471LQX6IsjGE5mtAnQgtxmwdzuetwU1fyI2EfLlVsE7Ktw4"
    "0E/OC4B+cp4JuroVB52MMbXLAD0XaBy4x6cnBdCVtTLh1fdS8DWeiUtlo5aBxSLWP0m4BB"
    "2THLyTDSSwt/wWDoM/CvSEj3Nd5vEc5HvXt52HXvv2o2p+zPmftkat3euoO8e6dJYo3TtL"
    "dNK8EfTbde8XpC7Rf7t3HY2mw8XQ1U8M6/X+21LvhKfCMZjzYmAriklQHBTF+nxCmCV/q1"
    "H621oQXOkbq1nPbuEjm2DOXxzXMkaYj0oBnhRsICc6Pj0thPhpDuKnScRx35kKoxz3jMps"
    "D+dWazsonx8VQfn8KBtldS+Osu2Y2C6FcSjRvKmjCPfJpj4LzIcTzuX7GGTimCmTRqZ6ui"
    "C3XFPd1Fg+qgrnjWiqkXGLuTDIM2HCKKX5L8gBtElop8wl2JLUQ0g+aGL1OrwEwlniAHQG"
    "0GP5teMhWQHjqCTAm4TXU2skJgPHtiWPXoD30nFsglmeUhSTTkDcl+JVYRyoqNtVgy673Z"
    "uYBnR53Ussdp9uLzv3e2/0GigrUUGWgG864zFhKTppMfQj4gD/CvAr8GianasY/BFxgH8l"
    "+LPm9qL4Z87w0AE5HeDjZlhUgpdOES/pMHN9TRVvzAr7j+Pjt2/fHR+9PTs/PXn37vT8aL"
    "7ULt7KW3Mvr39W0Me6KIOqc0JSJqF8u2RMcAP2yNoZURSJ6zJ75n9xr8RA6U8OufZJU/40"
    "sZIxOi4JvV73Xlcb8oOnyO6xKuhj8+kFu5YRuxMOD+E8kTSl8tKXe//hntg4g3n4HgntCe"
    "2pZl7hEPgWDPqgNBwKIUayW4gwNoHUR98Efa9abDRmnq5GXMMlKbsiZTB7P9f6mouT2gcC"
    "oHKBUhPkul+fbKKp8Pja+ZoIXYU6fhNBWmJILYPUXaSppsKljfNr4qS8FTvPDR5TLjEJfS"
    "Z5xuMyeN16rTQVLa62ewCpAkj9bd2ZnD0Tlxedn2q2F1xwyQt/4trrXim0XuWA6tuO+STn"
    "qX6Ka2sZrC5VO40Gac3B1GiABObr4tOTTTQVHm6OiDW15We2AX3lIWisyYqLTZ/WZQI3so"
    "mmwuOSDQyke91IkyBSpk3n2Mkydi7eGh+PkyWYSfpo+c9WT0qaM1OCr6KmzuwALDyhEXMh"
    "RGFtz6JfcRSW7tTSjsdxqcaFUpwVcfI+y/bxPltw8YY9q2zom7VnFTM3fZ1Q2doqYTMxyQ"
    "b2+ivp5QCT3G5WwXvlPIUjEtvz/Kj5KrWw2RsHeBHd945L6JB9IDMN8rV8I8zMtOiBRJz5"
    "KwM3izLKYhe/zIlSdFDJ326pOFJvGW8/XLV/6rS+Ze+eV0k+U3aIU2ho+j5yNiGdhz4lt7"
    "KBm76qrx64KXDT+k69wE2Bm9a2l4ty01W+7IgYBOvXvH9B91ibhYDu0Uzdw3cgTNE3QtfC"
    "bB3D82SsQKv4PHcm1SPL+9tq/ZHQNj6Ht8JqrlcNtJBtaSFAj7Ohby49Dr68cmtrQgrW15"
    "SQrbkf/SrIAnMpzlxiawywlxz2khhc6QwmbXYAaAtCa9WQHGofpDRTtO9ZkmN8DhxYKjU2"
    "f1Yr1MjRo4NaJWlfXgRyw5jfVkKOs/lh37FKpVYN6jcxV1slWcQwG059t/iiGEdlGperbc"
    "OJxAQepjjjtV0XzzI2WHyBBLA2rc4hr/XPwZSZCjbUn1JbUMYP1fP+VRXixfZYPv8BWymg"
    "K7aIRVfr9Jgg2NnrbGdXTt2y56Zp2aayEwLGhBqT42VjpgDPFbw0rEkxADYJrB87XRrZBT"
    "mANgmtp5OVM17FZMB0tdx0FSq+YF3Js67EBlZZ2wqkWigXJ+hixu1NxOb2wpZeLamDELg1"
    "4IEQuOWZOqRqtIHkOB3ZTJMgqtIeHszfKSbxyNSebRWPriIVG8aDkQ9mcTCL1/H7BbP4qz"
    "eLgyk3G/fmmnJBu29VYDPR5rqyy3FEqEmgbmFZzjGsBMRpTbNKw9K3HCTMKpGht9wXCGxV"
    "W7VVgRlmdxpiLEVoipqYTCGarSsu5C2tWGEMojhAYaytwvgkf3y6MtNh0/HCHBrriUC2zs"
    "pj63335qb7m2xMu0Q+sqvu7W3nrneBfMPJI1OX1927C+QfjfPIbq4/dC6QMqc+svvOx+6D"
    "rO5ZDx9Zr/3wwfh43/35vvPwIEcM5k/GxHUUG9af1O6PxFZ9vdil/37o3qV/UEH9pM5ETY"
    "H+h7btYKQeuwsHI4VPTF0KIN67bf+eRP/qpnuZ1INUA5egzoI6q3/ZCl0eEQOvpDp7JUH0"
    "L0T/1kC1q2n0b5ipP0VXiaXxz1ZU9E8Ljw1Yqqa02mhCXO4wbCMthjBHVKAX+T+VKv4C7a"
    "kmD1BwTvA+ohxZhHGCMLMQZWq95bJXVDtI102SuSqe8ci4gzAybaraEyMsEMcvfvN3SOVI"
    "lsTVVQWuHOJKFg+ElL7TTWI0xBP1lGfKqYTusJWumIWa2Pyc5GTUM6hntVTPVjgPezdHYd"
    "d8sYmd3oLHpfbvgvp1VnNX3L3bfFqrCZ7ZDk4Zr9n6Z0Rk+yrobigvKJugbMbqra5sgjIC"
    "yggoI1nKSHC4U4oqEjn3KVsRiR4xtelsRFJpsLwx4fH/NFoereUSk06orzvBlkptOTv44M"
    "355ZujoyJOeKpaJsf0biaozvyDKYFzTGglsGtmU4UUtUAoN08o58tMOVaZFANqmWJ68Bbz"
    "csDGZADV5YQ9ZExA2fMoe2xgLfe4i9FPQDYP2eRcWCeNKHZEaWrQUfwI07zIo8S5qcu3ab"
    "qM6I2PHzji1CLIGajdj0g7F/LadV70Dom/nTLBrpCjZP8APZGJQJQhqUIh7htlYzs0m23+"
    "kWmvR+w5qGDu7cIgXyU8QNzRVSnrO1/VJozD1IUemEjRg+W7Mf6zU7S+oMZ0YgVECtS9eq"
    "p7Nubzo6hLu9unCDcm+cNW+iXRD9qHZqVOiEhCD6zWA1OmQCxjiZ4LNAbyjakKkZl/AdAl"
    "p0jEJEH5fk3Kt88IymmIcaGVPqW6WbY2/THBJhlsku1eL1y6SZYyFWwP1ZrNAYXDBmOzXw"
    "xX+Qro7tPNza507UvbMZ9aKUq2d+MgT7vuqyqV7Dvqlr0R4f25pjfg96JnwlknQPU2SPX8"
    "b68cLYkLATNJ4Xr+9LYKrsD4ijO+yCoCpC+Pn8SH1nLeF6zJAGwhYOt4xkkP81Tap8tzWZ"
    "8KJ95mZH7g2x4hEuX2GbLdbdbws1mB/kVCicfUdB05OIaHPuwK1ENGXgwdrE2tysKLq4ns"
    "ziaOEMlQYRi9nF3FNCXZSbHcCKH0FlO+yapTYpUc3a3/fOp86vx0gTzpR9a+6l3/2rlAau"
    "PzmeiMCR9vOr2OTpkwUVPsI3vfvr5RMgNMbf+JZV0Dz4o4Bib5ecQt8Gwh9CSShaGo5TQi"
    "AlsQiwcFcPV+C3Bmh/KEEmtF8tTTErW1QB7iummprXrka1bIXyDQBK/WPBW/83svH+25hn"
    "/Tvfs5qJ7sgsTRAkKQ8SQt7XF27sGICEwbC8dggDnrOzRnwX5103o9wCjS7QsJ4weUUT5a"
    "qdsTopDypj7dnPJ1wwY6bKDv3uRX0yjTB1POY1OpCGcdbhyvcJBnAeRBVaP4eccqNY2sjF"
    "5cKpkpQ/IrRsJB8iEEu8iW48C9QJT5WWLQHhXKX5k5AmFPcEbEPpoyQW3t0vziuL5pP5kA"
    "Z/NPeWSTad9WK4HOpoMF+uIXyIXhywF6GVFzhDxmyLWcbkulv3GJ6biWEpP/WWhE3MwMOA"
    "sG0DB/cPi0lqz1OXYNLte1dLmGCNtqT7mIfAIlSV1csoFcvkmkbicHBNSMpO/GUx5MJNkd"
    "8jqVZTCRfI+9XsREAofbtKpXn+E4kGIK9FrHgVTqMhM5FiTNcyZ+akiOA03ioJKiuvMPHD"
    "mujhbWpwLIS0G+ChQ0RyzUn8nbkeaRHCnP1CR+4LBK0zp0HOtCxQFnqM6bfYjUnFUYs1aH"
    "Zbnf6AFS2s4BEtiV6i8KDp/bP0Rf1A1jhPnoi1LMlSr98Ev7x+PTMxUorS69txlh8chUVt"
    "vwvXSwM2ZInQ+q3lI2pJsIXxwP5ajLjngOTkCav4LXaeoVPa3bDM+6TK2zjoM6KObbVMzn"
    "XVdGO58LNVBF33xiJv+jKIFxKNFAgDfvSsSdqWsSY5XTPlNEAfJi3lvPNDVvTzbWURkAuQ"
    "DI6YbTbMeiRhlOt+1YBEae7HH+OtX9IkYen8iWtqvG5cC0uqppFYza20Q+xySz3UNva9YD"
    "hYPXy5x5G9GR1wT1KmypmbjGZ9M6Gbpu6BNppVi4dPlBnmlLnUdZSUKA4EvVPkjZuegg5X"
    "ht7S5ANb9HqrkTqlO7/t1Nqjvwh612Q2+77LFu4FZCH8HF+BW7GN/r48fTiKN/J5c6eoeX"
    "F9wQfXDGROUy5iMs16rAefeFipHaJKSuf5Q6cfkhuvZcbyXdljUHrjOee+jyHxAnsueD4O"
    "jobujGn/DI9vyNUv53fetwMtvXm5b6yvcW9v52XIu4OlnzSLaJFK2xqbzqz+Rzlu9gAkmu"
    "9xoNJBlIMpBkIMl1wh1IMpDkRkFaU5KsBnLHoqk0eX4vlyjrsaK83Mo6D2rXuT4ZyIGiua"
    "Uz0GFpuikVCsfRiHLhuLMD5NiyEYEG1JX/ata5f7hAkTfZcJF4uGAqAf5aW/4KUW/VRr35"
    "ca0r6AdxyQbqB69EHygU9QZqYPZHBmogqIHN8gupWxdsTGnZDcNuE5eaozR+7d/JZdc4rF"
    "NlettS/PV7Ia+VnV6gDlf0w7KKMtOISBPJ6elpEXJ6eppNTtW9RJZC+VGVQNiv3kB03xQ9"
    "UT7vQPmFk84dJlI967JTnUZE1sp1Wje0c8DdWLLTBXawzcXs2/8BWW1FWg=="
)
