from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "translations" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "body_hash" VARCHAR(64) NOT NULL,
    "target" VARCHAR(16) NOT NULL,
    "source_language" VARCHAR(16) NOT NULL,
    "provider" VARCHAR(16) NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "comment_id" BIGINT REFERENCES "comments" ("id") ON DELETE CASCADE,
    "post_id" BIGINT REFERENCES "posts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_translation_post_id_b6efdf" UNIQUE ("post_id", "body_hash", "target"),
    CONSTRAINT "uid_translation_comment_0bac78" UNIQUE ("comment_id", "body_hash", "target")
);
COMMENT ON TABLE "translations" IS 'A post''s or a comment''s text translated by a translation service, kept for good: one';
        ALTER TABLE "comments" ADD "language" VARCHAR(8) NOT NULL DEFAULT '';
        -- written by hand: a translation is of exactly one post or comment; rows written
        -- with INSERT ... ON CONFLICT (services/translation.py) get their time here
        ALTER TABLE "translations" ADD CONSTRAINT "translations_one_subject"
            CHECK (num_nonnulls("post_id", "comment_id") = 1);
        ALTER TABLE "translations" ALTER COLUMN "created_at" SET DEFAULT now();"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "comments" DROP COLUMN "language";
        DROP TABLE IF EXISTS "translations";"""


MODELS_STATE = (
    "eJztXW1T27gW/iuafFk6l2VoaCiX2bkzgYaWWyC9kO7uLHRcxRaJBkfy2jKB2dv/vpJsxy"
    "+RHTtvGK8+dEpkHdl+JEvnOTrn6K/WhFrI9va+eshtHYO/WgROEP8jVb4LWtBx4lJRwODQ"
    "lhV9XkOWwKHHXGgyXngPbQ/xIgt5posdhinhpcS3bVFITV4Rk1Fc5BP8p48MRkeIjeWD3H"
    "7jxZhY6Al50U/nwbjHyLZSz4ktcW9ZbrBnR5adE3YmK4q7DQ2T2v6ExJWdZzamZFYbEyZK"
    "R4ggFzIkmmeuLx5fPF34mtEbBU8aVwkeMSFjoXvo2yzxukMjLmsZxlV/YNz0BobRqgCQSY"
    "kAlz+qJ99+JB7h5/bbd+/fHR0cvjviVeRjzkre/whuHQMTCEp4rgatH/I6ZDCoITGOQRV9"
    "Kv+eg/Z0DF01tkmZDML80bMIR3gWQRwVxBjH42obIE/gk2EjMmJj/vOgXYDor93r00/d65"
    "2D9htxQ8o/g+DjuAqvtOUlAfo8yMYDel4G6EhuPWC/7HjeMNRoArFdBeOZQOPAbXfelUCX"
    "18qFV15L4+tAz5tS1zLG0BtXwXlOsIEzR7vTKYV4pwDxThZxOKQ+M6rN0EmZ7eHcam0H5a"
    "P9Migf7eejLK6lUbapCe1KGMcSSyEczgv1HMhHJQA+yoX3KAuuhzyPP4+BHGoqJo1cJW5O"
    "brE+t66xvF9rfS4xbqHHDPSICDMq6cdzchraLLQ+cRG0DEIZvscmFI/jVUA4T1wDnQP0hH"
    "/tcISWwDgpqeHNwis1XINjck9tm07n4T2h1EaQFOjHaekMxEMuvimMI+15AzAXYHjS71+I"
    "liee96ctC84HmcXu6+VJ73rnrVwDeSXM0ALwTTqZoGAwLoN+QlzDvwT8+ZNLOfwLphjdAQ"
    "UdEOJmWJiDp9ZRTvAod4JXijdmiv93u31w8L69f3B41Hn3/n3naH82189fKpr0T84/CuhT"
    "XZSjK3oIkfk++MCBY3iCCpTFSDCDvhVK7kV/vEYWL7SIPrGfwy+uAOnB+WXvZtC9/JL6Pj"
    "50Bz1xpS1LnzOlO4cZqjRrBPx2PvgExE/wR/+qJ+GlHhu58o5xvcEfLfFM0GeUK5RTA1oJ"
    "01JUGqGW6nOTvxrvBwMqVp7iTk9L6l6ve6+LfZP7h4SRXxQMofkwha5lpK7Ew4PRB6RiNS"
    "eh3Nnna2RL7qIYBOHGUdfBA9HMKxwCP6JBH5XGQyHGiHcLYsY6kPoS2kCvRYuNxiwgC8g1"
    "XKSwxlfB7GxGO5qLE29GA1UMlJggV/36eBNNhSekhysidBqTzCaCtMCSVwWpq0RTTYVLWo"
    "dXxEk4lfQeGzymXGQi/IiKrJdV8LoMWmkqWp7Yb9BIlUDqX6vO5OQRuV6j5ycz8Y4rL3zN"
    "h2toU/OBT1RDhQtSFaxORDuNBmnFwdRogBj0VsVnwJtoKjyeOUaWb/PPbA2E5SZqrGnMRV"
    "imaJvm2armL03ak2wJJHz1t8J7iztlrVEKF+ekpSrfzRk6OGHt0b7O2zPIbtjXWXZqZcfF"
    "tFTjvEQPyziJHub7iB7OuYjqLYd86Ju15ZCyFjw5mLe2RK+nJRvY66+klyNMCrtZhCRU8z"
    "RMSGxv477mq9TcXl0a4Hl0z6iL8Ih8Rs8S5HP+RJCYKu/jTDTXKwM3T2XkxS6czhSl5KDi"
    "787fGAUOKKfdm9Puh17rR/7m5yaVT8UGn0INVW8D5iuks9CJ7E6k1k1f1VevdVOtm9Z36t"
    "W6qdZNa9vLZXXTZb7shNgaOrhmcV0N61/NPVbWQjT3aCb3CP2/FHwj9gzL5xiBI9oGWMXt"
    "zBdQjqzgb6v1LcM2buNLcTU3qKZZyLZYiFaP86FvrnocfXnV1taMlF5fFRE3MzfoZZDVmk"
    "t5zSW1xmjtpUB7yQwutQajmh00tCWhtWqoHEoPEpUpOvQsKTA+R34sGzU234oVakzl6MBW"
    "RbWvKIC0YZrfViJG8/XDIbUqJTCL6jcx19NGshBBMvJDr+ayGCdlGpfrac2JiBgcKXzyuq"
    "4Ln3M2WEKBDLA23pxDXuuXe5+YAjYw9LHNMPH2xP3+synEy+2x3H7TWymaK4bLdDU+k5LR"
    "bGYxm4l1Ia1wFyncqYFVVd3WwZPVHP9dSDx7HcE2g7ilV7uftl2f9mhoKQhcYtTlc7jkAN"
    "8wjXNCQqlJnCZxdZzrNIl79SROE4983DXx0MQjv8/nN6hEJ1VOypcQahKoW1iWCzhfpDit"
    "yPgaFiq6m2F8iaG3eOdK0+it0mjNEF+OIabyESloYjZfUT5XnEuStGHCGPkcasJYW8L4wF"
    "9eTWZ6xJ/MzaGpnohk60weW2f9i4v+b7wxuYF/R077l5e9q8ExCA0nd2TQvflsfLnuf7zu"
    "3dzwMQC9B8NxqdBv5Ufy8gcfid6b76T/3vSv1J9IVD/LgrDJwP/Btje4xG1fYoNL4JMiQB"
    "HEO5fd37Pon170T7LMRjRwogmqJqjyzZbo8oSYjj7R0Se1/nh19MnLk7WaRp/EiT4V7COV"
    "BbT4fFkjzjq6kHi0usBBrkcJtIEUA9ADmIEp/09kmjwGO6LJXRCdc/UGYA9YiHgIQGIBTM"
    "R66/FeEe0AWTerzG3iHnfEowAC08aiPTaGDHhwGjZ/BUSGNa6KuqLA5UNcyMJ7xqWvZJMQ"
    "jKAj7vKIPcyh22upqVbMrWbnfGWjbjThqiXhWuI8t5c5yq3mi00q+XPFQ44bfMDx+tMqOP"
    "DZplAxXvP5Z0Jk+xT0ZVReTTY12UzVW55sajKiyYgmI3lkJMoNr6AiibTx+UQkmaF+3dHw"
    "nDRYwZgI9H+VWp6s5SITOzjkTnqTpLY6u/aqm+mXb/f3y7jViWq5OmZwMaPqzD6YCjinhJ"
    "p3UrtOkaYVyvXsXoTLTDWtMiumVUuF6SFYzKsBm5LRqC5W2GONSavsRSp7amAt9qFLqZ8a"
    "2SJks3NhnRhR6oAjZRhR+gCkoliizKlLi7dp+gTJjY+fPOBhCwF6L3Y/Eu0c898uncodkn"
    "A7xYEu46PkzS54QA4DmABOoYAXGmVTOzTrbf6OSD9GGDioQC/YhQEhJdwFHpVVMRnSJ7EJ"
    "Q4n4IQcmEOrB4t2Y8N4K1hfV8B0rUqQ03asn3ZNHoken01ftCoWwPtN+hTPtpQ/NUp2QkN"
    "Q9sFwP+ESAWMUSPRNoDORrowqJmX8O0AVZjFOSmny/JvIdagTVGGJaSFNE1dekd8n0LtnL"
    "E8OFu2SKuUCjujAUMDX/1YlsBwfAKlj27GTYfHodH0C77o3H4PxfOSLCo4BXcwf8pxBNnW"
    "xb63pr1PWiY7grfVJpIa2ZKHS9cHpbBlet8ZXX+BKriFZPitST9NBarPdFa7IGthSwdUyy"
    "LQ+2V6h90YH3+VqfiCfeZrB95NyeUCSqbTTk+9us4GizhPqXiCWeYNOlfHCM9kLYBah7BE"
    "0NGa2NrY3FF28mtDtfcdShDBuMo+ezK/MV+UvKpTuIpbeYxY1X9ZFVcXS3/ve197X34RgE"
    "0nekezo4/7V3DMTO5yOSSRC+XPQGPZkFwRFT7B05655fCJl7iO3wjlV9Aw/LeAZm9fOEX+"
    "DhXOxJIg1DWdNpQkTvQWQ1aY6MeL45OPNjeWKJlUJ5auZoue1IHuS6qmxVA/SUF/MXCTTB"
    "rbWI4vd+HxSjPWP4F/2rj1H1bBek0YaMoYmjSvqcn04wIaKnjey0oc1Z+VA315ylN6yb1u"
    "sRRolun0sGf48J9sZLdXtGVOe8qU83K75uvYGuN9Bf3uRX0zDTG5PPYz4nwnmn66Ur7BZZ"
    "AL2oqlH+wD2Rm4ZXBlMXc82UAP4VA0YBvwmCLrD5OHCPASZhmhiwg5lwWCaUARgIPiP2Bv"
    "iEYVv6NE+pG5r2sxlw1n+XO+L4Q1usBDKdDmTge1jAF4bvu2A6xuYYBJqhJ+VkWyL/jYtM"
    "6lpCjP+zwBi5uSlw5gygcUrg+G4tXus29Vv7XNfS51qH2G724IrEJ1BRqUtLNlCXb5JS9y"
    "I5/2umpL+Mq7w2keR3yOsky9pE8k/s9TImEn1eTWvz9Fmf8FGOQK90wsdGXWYSJ32oPGfS"
    "B4EUONBkzh4py51/8gB1ZbiwTPTPfzL0xEDUHLLA8JlfTjQP+Eh5xCYKI4dFntYRpdaxCA"
    "TOoc7rvQlnziKOWdJhXh42ugsE29kFDLqc/oLoPLk3e+C7uGCMoTf+Loi5oNI3n7o/tzuH"
    "IlJa/AyeZgzZHRFpbePnktHOkABkYfmUvCHZRPzgcMRHXX7Ic3So0ewRgk4TjxiwbjM+vl"
    "JZZxUHdU3Mt0nMZ11XhZ3PhBpI0defmSn8KCpgHEs0EOD1uxJ51HdNZCxzgKdCVENeznvr"
    "ESsT9+RjnZTRIJcAWW04zXcsapThdNuORdrIkz/OXyfdL2PkCRXZynbVtJw2rS5rWtVG7W"
    "0iX2CS2e45tjXrgdKx61WOsU1w5BVBPY1baiau6dm0ToauLnKxOW4pbFzhld0i8xaM62wy"
    "QEzH/28z/l/kJwwNm2WZT0KkEbp5xqmh0ynj1NDp5Ds1iGsZP3/+UVVAOKzeQHTflk3KXp"
    "STfS5ZOCVMuTblBwslRPTBPxXDheb0rm0uZj/+Bl6a8v4="
)
