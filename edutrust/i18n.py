"""The one translation catalog: every message a person sees, in Chinese and English.

Code refers to messages by key; ``translate(key, lang, **values)`` fills placeholders.
Chinese is the default language. Packages below the composition root receive a
``Translator`` rather than importing this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

DEFAULT_LANG = "zh"
LANGUAGES = ("zh", "en")

Translator = Callable[..., str]

CATALOG: dict[str, dict[str, str]] = {
    # -- command line: common ---------------------------------------------------------
    "cli.error": {"zh": "错误：{message}", "en": "error: {message}"},
    "cli.file_missing": {"zh": "文件不存在：{path}", "en": "file not found: {path}"},
    "cli.file_unreadable": {"zh": "无法读取文件 {path}：{reason}",
                            "en": "cannot read {path}: {reason}"},
    "cli.file_unwritable": {"zh": "无法写入文件 {path}：{reason}",
                            "en": "cannot write {path}: {reason}"},
    "cli.usage": {"zh": "用法错误：{message}", "en": "usage error: {message}"},
    # -- command line: crypto ---------------------------------------------------------
    "crypto.bad_private_key": {"zh": "{path} 不是可用的 SM2 私钥（PKCS#8 PEM）：{reason}",
                               "en": "{path} is not a usable SM2 private key (PKCS#8 PEM): "
                                     "{reason}"},
    "crypto.bad_public_key": {"zh": "{path} 不是可用的 SM2 公钥（SubjectPublicKeyInfo PEM）："
                                    "{reason}",
                              "en": "{path} is not a usable SM2 public key "
                                    "(SubjectPublicKeyInfo PEM): {reason}"},
    "crypto.bad_certificate": {"zh": "{path} 不是可用的 SM2 证书：{reason}",
                               "en": "{path} is not a usable SM2 certificate: {reason}"},
    "crypto.bad_id": {"zh": "签名者标识须为 1 至 8190 字节", "en": "the signer ID must be "
                      "1 to 8190 bytes"},
    "crypto.bad_subject": {"zh": "无效的主体名称：{reason}", "en": "invalid subject name: "
                           "{reason}"},
    "crypto.bad_days": {"zh": "有效天数须为 1 至 36500 之间的整数",
                        "en": "days must be a whole number from 1 to 36500"},
    "crypto.key_written": {"zh": "已写入 SM2 私钥：{path}（权限 0600）",
                           "en": "SM2 private key written to {path} (mode 0600)"},
    "crypto.pub_written": {"zh": "已写入 SM2 公钥：{path}", "en": "SM2 public key written to "
                           "{path}"},
    "crypto.sig_written": {"zh": "已写入签名：{path}", "en": "signature written to {path}"},
    "crypto.sig_valid": {"zh": "签名有效", "en": "signature valid"},
    "crypto.sig_invalid": {"zh": "签名无效", "en": "signature invalid"},
    "crypto.ct_written": {"zh": "已写入密文：{path}", "en": "ciphertext written to {path}"},
    "crypto.pt_written": {"zh": "已写入明文：{path}", "en": "plaintext written to {path}"},
    "crypto.decrypt_failed": {"zh": "解密失败：密文已损坏或密钥不匹配",
                              "en": "decryption failed: the ciphertext is corrupt or the key "
                                    "does not match"},
    "crypto.encrypt_empty": {"zh": "SM2 不能加密空文件", "en": "SM2 cannot encrypt an empty "
                             "file"},
    "crypto.cert_written": {"zh": "已写入证书：{path}", "en": "certificate written to {path}"},
    "crypto.ca_key_mismatch": {"zh": "CA 私钥与 CA 证书不匹配",
                               "en": "the CA key does not match the CA certificate"},
    "crypto.issue_failed": {"zh": "无法签发证书：{reason}",
                            "en": "cannot issue the certificate: {reason}"},
    "crypto.not_ca": {"zh": "{path} 不是 CA 证书", "en": "{path} is not a CA certificate"},
    # -- command line: init, serve, keys ----------------------------------------------
    "init.created_home": {"zh": "已创建数据目录 {path}", "en": "created data folder {path}"},
    "init.master_key": {"zh": "已生成主密钥 {path}（权限 0600，请妥善备份）",
                        "en": "generated the master key {path} (mode 0600; back it up)"},
    "init.database": {"zh": "数据库已就绪（迁移版本 {revision}）",
                      "en": "database ready (migration {revision})"},
    "init.key_created": {"zh": "已生成平台密钥 {kid}（{algorithm}）",
                         "en": "generated platform key {kid} ({algorithm})"},
    "init.key_exists": {"zh": "平台密钥 {kid} 已存在，未改动",
                        "en": "platform key {kid} exists, left unchanged"},
    "init.ca_created": {"zh": "已签发平台根 CA 证书：{subject}",
                        "en": "issued the platform root CA certificate: {subject}"},
    "init.ca_exists": {"zh": "平台根 CA 证书已存在，未改动",
                       "en": "the platform root CA certificate exists, left unchanged"},
    "init.done": {"zh": "初始化完成。", "en": "initialisation complete."},
    "init.master_key_missing": {"zh": "找不到主密钥：请先运行 edutrust init，或设置 "
                                      "EDUTRUST_MASTER_KEY",
                                "en": "no master key: run edutrust init first, or set "
                                      "EDUTRUST_MASTER_KEY"},
    "init.master_key_bad": {"zh": "主密钥格式错误：应为 16 字节 SM4 密钥的 Base64 编码",
                            "en": "malformed master key: expected base64 of a 16-byte SM4 "
                                  "key"},
    "init.not_initialised": {"zh": "平台尚未初始化：请先运行 edutrust init",
                             "en": "the platform is not initialised: run edutrust init first"},
    "keys.rotated": {"zh": "已轮换 {key_id}：新版本 {kid}，旧版本继续用于验证",
                     "en": "rotated {key_id}: new version {kid}; older versions still "
                           "verify"},
    "keys.unknown": {"zh": "没有名为 {key_id} 的密钥", "en": "no key named {key_id}"},
    "ledger.created": {"zh": "已创建账本通道 {channel}（检查点来源 {origin}）",
                       "en": "created ledger channel {channel} (checkpoint origin {origin})"},
    "ledger.exists": {"zh": "账本通道 {channel} 已存在，未改动",
                      "en": "ledger channel {channel} exists, left unchanged"},
    "serve.listening": {"zh": "EduTrust 正在 http://{host}:{port} 上提供服务（{server}）",
                        "en": "EduTrust serving on http://{host}:{port} ({server})"},
    # -- command line: ledger ---------------------------------------------------------
    "ledger.not_initialised": {"zh": "账本尚未初始化：请先运行 edutrust init（或 edutrust "
                                     "ledger init）",
                               "en": "the ledger is not initialised: run edutrust init (or "
                                     "edutrust ledger init) first"},
    "ledger.error": {"zh": "账本错误：{reason}", "en": "ledger error: {reason}"},
    "ledger.bad_key": {"zh": "无效的条目键：{reason}", "en": "invalid entry key: {reason}"},
    "ledger.anchored": {"zh": "已存证 {entry}（SM3 {digest}）：区块 {block}，叶子 {leaf_index}",
                        "en": "anchored {entry} (SM3 {digest}) in block {block}, leaf "
                              "{leaf_index}"},
    "ledger.already_anchored": {"zh": "{entry} 已存证（版本 {version}，SM3 {digest}），未重复存证",
                                "en": "{entry} is anchored already (version {version}, SM3 "
                                      "{digest}); nothing was added"},
    "ledger.refused": {"zh": "账本拒绝了该交易：{reason}",
                       "en": "the ledger refused the transaction: {reason}"},
    "ledger.proof_options": {"zh": "请给出 --index（可加 --size），或 --from（可加 --to），"
                                   "二者只能选其一",
                             "en": "give either --index (with optional --size) or --from "
                                   "(with optional --to), not both"},
    "ledger.out_of_range": {"zh": "索引或树大小超出账本范围（当前共 {tree_size} 个叶子）：{reason}",
                            "en": "index or size outside the log (it holds {tree_size} "
                                  "leaves): {reason}"},
    "ledger.bad_proof_file": {"zh": "{path} 不是证明文档：{reason}",
                              "en": "{path} is not a proof document: {reason}"},
    "ledger.bad_keys_file": {"zh": "{path} 中的验证公钥无法使用：{reason}",
                             "en": "{path} holds an unusable verifier key: {reason}"},
    "ledger.no_log_key": {"zh": "{path} 中没有账本（日志）验证公钥",
                          "en": "{path} holds no log verifier key"},
    "ledger.bad_witness_count": {"zh": "要求的见证方数量 {count} 超过了公钥文件中的见证方数量 "
                                       "{available}",
                                 "en": "{count} witnesses required but the keys file names "
                                       "only {available}"},
    "ledger.leaf_options": {"zh": "请用 --leaf 或 --leaf-base64 给出叶子（只能选其一）",
                            "en": "give the leaf with --leaf or --leaf-base64 (one of them)"},
    "ledger.bad_leaf_base64": {"zh": "--leaf-base64 不是有效的 Base64",
                               "en": "--leaf-base64 is not valid base64"},
    "ledger.checkpoint_missing": {"zh": "请用 {option} 给出已签名的检查点",
                                  "en": "give the signed checkpoint with {option}"},
    "ledger.proof_valid": {"zh": "有效：叶子 {index} 包含在 {origin} 签名的 {size} 叶账本中"
                                 "（见证方：{witnesses}）",
                           "en": "valid: leaf {index} is in the log of {size} leaves signed "
                                 "by {origin} (witnesses: {witnesses})"},
    "ledger.consistency_valid": {"zh": "有效：{origin} 的 {second} 叶账本是 {first} 叶账本的"
                                       "延续（见证方：{witnesses}）",
                                 "en": "valid: the log of {second} leaves extends the log of "
                                       "{first} leaves signed by {origin} (witnesses: "
                                       "{witnesses})"},
    "ledger.proof_invalid": {"zh": "无效：{reason}", "en": "invalid: {reason}"},
    "ledger.size_mismatch": {"zh": "证明针对 {proof_size} 叶的树，而检查点的树大小为 "
                                   "{checkpoint_size}",
                             "en": "the proof is for a tree of {proof_size} leaves but the "
                                   "checkpoint is for {checkpoint_size}"},
    "ledger.invalid_unpinned": {"zh": "检查点没有固定的账本公钥的签名",
                                "en": "the checkpoint is not signed by a pinned log key"},
    "ledger.invalid_checkpoint": {"zh": "检查点验证失败：{reason}",
                                  "en": "the checkpoint does not verify: {reason}"},
    "ledger.invalid_leaf": {"zh": "证明文档中的叶子不是有效的 Base64",
                            "en": "the leaf in the proof document is not base64"},
    "ledger.invalid_size": {"zh": "证明针对 {proof_size} 叶的树，而检查点的树大小为 "
                                  "{checkpoint_size}",
                            "en": "the proof is for a tree of {proof_size} leaves but the "
                                  "checkpoint is for {checkpoint_size}"},
    "ledger.invalid_sizes": {"zh": "证明从 {first} 叶到 {second} 叶，而两个检查点的树大小为 "
                                   "{old_size} 和 {new_size}",
                             "en": "the proof is from {first} to {second} leaves but the "
                                   "checkpoints are for {old_size} and {new_size}"},
    "ledger.invalid_origins": {"zh": "两个检查点属于不同的账本",
                               "en": "the two checkpoints are of different logs"},
    "ledger.invalid_proof": {"zh": "证明验证失败：{reason}",
                             "en": "the proof does not verify: {reason}"},
    "ledger.audit_ok": {"zh": "审计通过：{blocks} 个区块、{transactions} 笔交易、{leaves} 个"
                              "叶子、{checkpoints} 个检查点均与重算结果一致",
                        "en": "audit passed: {blocks} blocks, {transactions} transactions, "
                              "{leaves} leaves and {checkpoints} checkpoints match the "
                              "replay"},
    "ledger.audit_divergence": {"zh": "审计发现不一致：{divergence}",
                                "en": "audit found a divergence: {divergence}"},
    # -- command line: records --------------------------------------------------------
    "records.bad_bundle": {"zh": "{path} 不是可读的离线核验包：{reason}",
                           "en": "{path} is not a readable offline bundle: {reason}"},
    "records.bad_trust_anchors": {"zh": "{path} 中的信任锚无法使用：{reason}",
                                  "en": "the trust anchors in {path} cannot be used: {reason}"},
    "records.verified_valid": {"zh": "有效：记录 {id}（版本 {version}）通过全部核验",
                               "en": "valid: record {id} (version {version}) passed every "
                                     "check"},
    "records.verified_invalid": {"zh": "无效：未通过的核验项：{checks}",
                                 "en": "invalid: checks not passed: {checks}"},
    "records.verified_indeterminate": {"zh": "无法确定：无法完成的核验项：{checks}",
                                       "en": "indeterminate: checks that could not be "
                                             "completed: {checks}"},
    # -- directory: official codes and identifiers -------------------------------------
    "code.bad_division": {"zh": "不是有效的行政区划代码（6 位数字，前两位为省级代码）",
                          "en": "not a valid administrative division code (6 digits starting "
                                "with a province code)"},
    "code.level_mismatch": {"zh": "行政区划代码的级别与机构类型不符（省级以 0000 结尾，地市级以 "
                                  "00 结尾）",
                            "en": "the division code's level does not match the organisation "
                                  "kind (provinces end in 0000, cities in 00)"},
    "code.bad_school": {"zh": "不是有效的学校标识码（10 位数字）",
                        "en": "not a valid school identification code (10 digits)"},
    "code.bad_credit_code": {"zh": "不是有效的统一社会信用代码（18 位，不含 I、O、S、V、Z）",
                             "en": "not a valid unified social credit code (18 characters, no "
                                   "I, O, S, V or Z)"},
    "code.bad_credit_check": {"zh": "统一社会信用代码的校验码不符（GB 32100-2015）",
                              "en": "the unified social credit code's check character does "
                                    "not match (GB 32100-2015)"},
    "code.bad_kind": {"zh": "未知的机构类型", "en": "unknown organisation kind"},
    "code.bad_id_card": {"zh": "不是有效的居民身份证号码（18 位）",
                         "en": "not a valid resident ID number (18 characters)"},
    "code.bad_id_card_date": {"zh": "居民身份证号码中的出生日期无效",
                              "en": "the birth date inside the resident ID number is not valid"},
    "code.bad_id_card_check": {"zh": "居民身份证号码的校验码不符（GB 11643）",
                               "en": "the resident ID number's check character does not match "
                                     "(GB 11643)"},
    "code.bad_phone": {"zh": "不是有效的中国大陆手机号码（11 位，以 13 至 19 开头）",
                       "en": "not a valid mainland mobile number (11 digits starting with "
                             "13 to 19)"},
    "code.bad_username": {"zh": "用户名须为 2 至 64 个小写字母、数字或 . _ -，并以字母或数字开头",
                          "en": "a username is 2 to 64 lowercase letters, digits, '.', '_' or "
                                "'-', starting with a letter or digit"},
    "code.bad_email": {"zh": "不是有效的电子邮件地址", "en": "not a valid email address"},
    "code.bad_student_number": {"zh": "学籍号须为 1 至 32 个字母或数字",
                                "en": "a student number is 1 to 32 letters or digits"},
    # -- directory: passwords ----------------------------------------------------------
    "password.weak": {"zh": "密码不符合要求：{problems}",
                      "en": "the password breaks the policy: {problems}"},
    "password.too_short": {"zh": "密码至少需要 10 个字符", "en": "a password needs at least 10 "
                           "characters"},
    "password.too_long": {"zh": "密码不能超过 256 个字符",
                          "en": "a password cannot be longer than 256 characters"},
    "password.one_class": {"zh": "密码须包含至少两类字符（小写字母、大写字母、数字、其他符号）",
                           "en": "a password needs at least two kinds of character (lowercase, "
                                 "uppercase, digits, others)"},
    "password.repeated": {"zh": "密码不能由同一个字符重复组成",
                          "en": "a password cannot be one character repeated"},
    "password.contains_username": {"zh": "密码不能包含用户名",
                                   "en": "a password cannot contain the username"},
    "password.equals_name": {"zh": "密码不能与姓名相同",
                             "en": "a password cannot be the person's name"},
    "password.common": {"zh": "该密码过于常见", "en": "this password is too common"},
    # -- directory: service ------------------------------------------------------------
    "directory.parent_kind": {"zh": "上级机构的类型不允许（行政区划按 国家 > 省 > 市 > 县 逐级，"
                                    "学校、教育局和企业须隶属于行政区划或教育局）",
                              "en": "that kind of parent is not allowed (divisions nest "
                                    "national > province > city > county; schools, bureaus "
                                    "and enterprises sit under a division or a bureau)"},
    "directory.parent_code_mismatch": {"zh": "行政区划代码与上级区划代码的前缀不一致",
                                       "en": "the division code does not start with its "
                                             "parent division's prefix"},
    "directory.bad_role": {"zh": "未知的角色", "en": "unknown role"},
    "directory.role_org_kind": {"zh": "该角色不能属于此类机构（学生、教师、监护人属于学校；"
                                      "监管人员属于行政区划或教育局）",
                                "en": "that role cannot belong to this kind of organisation "
                                      "(students, teachers and guardians belong to schools; "
                                      "regulators to divisions or bureaus)"},
    "directory.bad_name": {"zh": "名称须为 1 至 200 个字符，且不含换行等控制字符",
                           "en": "a name is 1 to 200 characters without line breaks or other "
                                 "control characters"},
    "directory.bad_relation": {"zh": "未知的监护关系", "en": "unknown guardian relation"},
    "directory.org_exists": {"zh": "机构代码 {code} 已存在", "en": "organisation code {code} "
                             "exists already"},
    "directory.unknown_parent": {"zh": "上级机构 {code} 不存在",
                                 "en": "no parent organisation {code}"},
    "directory.unknown_org": {"zh": "机构 {code} 不存在", "en": "no organisation {code}"},
    "directory.unknown_person": {"zh": "人员不存在", "en": "no such person"},
    "directory.person_conflict": {"zh": "与已有人员冲突（用户名、身份证号或学籍号重复）",
                                  "en": "conflicts with an existing person (username, ID number "
                                        "or student number taken)"},
    "directory.username_taken": {"zh": "用户名已被使用", "en": "the username is taken"},
    "directory.id_card_taken": {"zh": "该身份证号码已属于另一人员",
                                "en": "that ID number belongs to another person"},
    "directory.student_number_taken": {"zh": "该学籍号已属于另一人员",
                                       "en": "that student number belongs to another person"},
    "directory.birth_date_mismatch": {"zh": "出生日期与身份证号码中的不一致",
                                      "en": "the birth date differs from the one in the ID "
                                            "number"},
    "directory.guardian_of_self": {"zh": "不能成为自己的监护人",
                                   "en": "a person cannot be their own guardian"},
    "directory.not_a_guardian": {"zh": "该人员在任何机构中都没有监护人角色",
                                 "en": "that person holds the guardian role nowhere"},
    "directory.guardian_of_adult": {"zh": "被监护人已年满 18 周岁",
                                    "en": "the person to be guarded is 18 or older"},
    "directory.database_error": {"zh": "数据库错误：{reason}", "en": "database error: {reason}"},
    # -- directory: CSV import ---------------------------------------------------------
    "directory.import_progress": {"zh": "导入目录", "en": "importing the directory"},
    "directory.import_done": {"zh": "导入完成：共 {rows} 行，新建 {created}，更新 {updated}，"
                                    "未变 {unchanged}",
                              "en": "imported {rows} rows: {created} created, {updated} "
                                    "updated, {unchanged} unchanged"},
    "directory.import_dry_run": {"zh": "试运行（未写入）：共 {rows} 行，将新建 {created}，更新 "
                                       "{updated}，未变 {unchanged}",
                                 "en": "dry run, nothing written: {rows} rows, {created} would "
                                       "be created, {updated} updated, {unchanged} unchanged"},
    "directory.import_rejected": {"zh": "文件有 {count} 处错误，未导入任何内容",
                                  "en": "{count} problems in the file; nothing was imported"},
    "import.row_error": {"zh": "第 {line} 行：{reason}", "en": "line {line}: {reason}"},
    "import.column_reason": {"zh": "{column} 列：{reason}", "en": "{column}: {reason}"},
    "import.concurrent_change": {"zh": "导入期间目录被其他操作修改，请重新导入",
                                 "en": "the directory changed during the import; import again"},
    "import.file.not_utf8": {"zh": "文件不是 UTF-8 编码（第 {line} 行）",
                             "en": "the file is not UTF-8 (line {line})"},
    "import.file.bad_csv": {"zh": "CSV 格式错误（第 {line} 行，引号不匹配或含有空字符）",
                            "en": "malformed CSV at line {line} (unbalanced quotes or a NUL "
                                  "character)"},
    "import.file.empty": {"zh": "文件为空，缺少表头行", "en": "the file is empty: no header row"},
    "import.file.too_many_rows": {"zh": "文件超过 {limit} 行，请拆分后导入",
                                  "en": "the file has more than {limit} rows; split it"},
    "import.file.unknown_columns": {"zh": "表头含有未知列：{columns}",
                                    "en": "unknown columns in the header: {columns}"},
    "import.file.duplicate_columns": {"zh": "表头中的列重复：{columns}",
                                      "en": "columns repeated in the header: {columns}"},
    "import.file.missing_columns": {"zh": "表头缺少必需的列：{columns}",
                                    "en": "required columns missing from the header: "
                                          "{columns}"},
    "import.row.missing": {"zh": "缺少 {detail} 列的值", "en": "{detail} is required"},
    "import.row.field_count": {"zh": "字段数与表头不符（应为 {detail} 个）",
                               "en": "wrong number of fields (the header has {detail})"},
    "import.row.bad_org_kind": {"zh": "{detail} 列：未知的机构类型",
                                "en": "{detail}: unknown organisation kind"},
    "import.row.bad_role": {"zh": "{detail} 列：未知的角色", "en": "{detail}: unknown role"},
    "import.row.needs_username": {"zh": "{detail} 列有值，但该行没有用户名（仅定义机构的行只能填写"
                                        "机构列）",
                                  "en": "{detail} is given but the row has no username "
                                        "(organisation-only rows carry organisation columns "
                                        "only)"},
    "import.row.bad_date": {"zh": "{detail} 列：日期须为 YYYY-MM-DD，且在 1900 年之后、不晚于今天",
                            "en": "{detail}: a date is YYYY-MM-DD, after 1900 and not in the "
                                  "future"},
    "import.row.birth_date_mismatch": {"zh": "{detail} 列与身份证号码中的出生日期不一致",
                                       "en": "{detail} differs from the birth date in the ID "
                                             "number"},
    "import.row.guardian_of_needs_role": {"zh": "{detail} 列只能用于角色为 guardian 的行",
                                          "en": "{detail} is only for rows whose role is "
                                                "guardian"},
    "import.row.guardian_of_self": {"zh": "{detail} 列指向本人", "en": "{detail} names the "
                                    "person themself"},
    "import.row.duplicate": {"zh": "与第 {detail} 行重复", "en": "repeats line {detail}"},
    "import.row.org_inconsistent": {"zh": "{detail} 列与本文件中同一机构的另一行不一致",
                                    "en": "{detail} contradicts another row of the same "
                                          "organisation in this file"},
    "import.row.person_inconsistent": {"zh": "{detail} 列与本文件中同一用户的另一行不一致",
                                       "en": "{detail} contradicts another row of the same "
                                             "username in this file"},
    "import.row.id_card_repeated": {"zh": "身份证号码与第 {detail} 行的另一用户相同",
                                    "en": "same ID number as another username on line "
                                          "{detail}"},
    "import.row.student_number_repeated": {"zh": "学籍号与第 {detail} 行的另一用户相同",
                                           "en": "same student number as another username on "
                                                 "line {detail}"},
    "import.row.org_kind_conflict": {"zh": "{detail} 列与目录中该机构的类型不同",
                                     "en": "{detail} differs from the organisation's kind in "
                                           "the directory"},
    "import.row.org_parent_conflict": {"zh": "{detail} 列与目录中该机构的上级不同（导入不会移动"
                                             "机构）",
                                       "en": "{detail} differs from the organisation's parent in "
                                             "the directory (imports do not move "
                                             "organisations)"},
    "import.row.unknown_org": {"zh": "{detail} 列：目录中没有该机构，且本文件未给出其名称和类型",
                               "en": "{detail}: the organisation is not in the directory and "
                                     "this file does not give its name and kind"},
    "import.row.unknown_parent": {"zh": "{detail} 列：上级机构既不在目录中也不在本文件中",
                                  "en": "{detail}: the parent is neither in the directory nor "
                                        "in this file"},
    "import.row.parent_cycle": {"zh": "{detail} 列使机构形成循环", "en": "{detail} makes the "
                                "organisations form a cycle"},
    "import.row.unknown_minor": {"zh": "{detail} 列：被监护人既不在目录中也不在本文件中",
                                 "en": "{detail}: the minor is neither in the directory nor in "
                                       "this file"},
    "import.row.id_card_taken": {"zh": "{detail} 列：该身份证号码已属于目录中的另一用户",
                                 "en": "{detail}: that ID number belongs to another username "
                                       "in the directory"},
    "import.row.student_number_taken": {"zh": "{detail} 列：该学籍号已属于目录中的另一用户",
                                        "en": "{detail}: that student number belongs to "
                                              "another username in the directory"},
    # -- identity provider: clients (CLI) ---------------------------------------------
    "clients.created": {"zh": "已注册客户端 {name}（{client_id}）。客户端密钥只显示这一次，"
                              "请妥善保存。",
                        "en": "registered client {name} ({client_id}). The client secret is "
                              "shown only this once: store it safely."},
    "clients.created_with_keys": {"zh": "已注册客户端 {name}（{client_id}），以其注册的私钥签名的 "
                                        "JWT 认证（private_key_jwt），没有客户端密钥。",
                                  "en": "registered client {name} ({client_id}); it "
                                        "authenticates with JWTs signed by its registered "
                                        "keys (private_key_jwt) and has no secret."},
    "clients.bad_jwks": {"zh": "private_key_jwt 客户端须提供 JWK 集合，只含 SM2、P-256 或 "
                               "RSA（至少 2048 位）签名公钥",
                         "en": "a private_key_jwt client needs a JWK Set of public SM2, "
                               "P-256 or RSA (2048+ bit) signing keys"},
    "clients.jwks_unreadable": {"zh": "无法读取 JWK 集合文件：{path}",
                                "en": "cannot read the JWK Set file: {path}"},
    "clients.par_needs_code": {"zh": "只有 authorization_code 客户端才能要求推送授权请求（PAR）",
                               "en": "only authorization_code clients can require pushed "
                                     "authorization requests (PAR)"},
    "clients.created_public": {"zh": "已注册公开客户端 {name}（{client_id}），须使用 PKCE。",
                               "en": "registered public client {name} ({client_id}); it must "
                                     "use PKCE."},
    "clients.bad_name": {"zh": "客户端名称不能为空，且不超过 200 个字符",
                         "en": "the client name must be 1 to 200 characters"},
    "clients.bad_grant": {"zh": "不支持的授权类型：{grant}（可用：authorization_code、"
                                "client_credentials、refresh_token）",
                          "en": "unsupported grant type: {grant} (supported: "
                                "authorization_code, client_credentials, refresh_token)"},
    "clients.refresh_needs_code": {"zh": "refresh_token 须与 authorization_code 一同使用",
                                   "en": "refresh_token needs authorization_code too"},
    "clients.public_client_credentials": {"zh": "公开客户端不能使用 client_credentials",
                                          "en": "a public client cannot use "
                                                "client_credentials"},
    "clients.redirect_required": {"zh": "authorization_code 客户端至少需要一个 --redirect-uri",
                                  "en": "an authorization_code client needs at least one "
                                        "--redirect-uri"},
    "clients.redirect_unused": {"zh": "只有 authorization_code 客户端才有回调地址",
                                "en": "only authorization_code clients have redirect URIs"},
    "clients.bad_redirect_uri": {"zh": "回调地址无效：{uri}（须为 https、回环地址上的 http，"
                                       "或公开原生应用的私有协议；不得含片段）",
                                 "en": "invalid redirect URI: {uri} (https, http on a "
                                       "loopback host, or a private-use scheme for public "
                                       "native clients; no fragment)"},
    "clients.bad_scope": {"zh": "不支持的权限范围：{scope}", "en": "unsupported scope: {scope}"},
    "clients.bad_alg": {"zh": "不支持的签名算法：{alg}（可用：SM2、ES256、RS256）",
                        "en": "unsupported signing algorithm: {alg} (supported: SM2, ES256, "
                              "RS256)"},
    "clients.bad_token_format": {"zh": "访问令牌格式须为 jwt 或 opaque，而不是 {format}",
                                 "en": "the access token format is jwt or opaque, not "
                                       "{format}"},
    "clients.bad_subject_type": {"zh": "sub 类型须为 pairwise 或 public，而不是 {subject_type}",
                                 "en": "the subject type is pairwise or public, not "
                                       "{subject_type}"},
    "clients.bad_auth_method": {"zh": "客户端认证方式 {method} 与客户端类型不符",
                                "en": "client authentication method {method} does not fit "
                                      "the client type"},
    "clients.logout_needs_code": {"zh": "只有 authorization_code 客户端才能登记登出地址",
                                  "en": "only authorization_code clients have logout URIs"},
    # -- identity provider: demo ------------------------------------------------------
    "demo.created": {"zh": "已创建演示学校、教师、学生和演示客户端。",
                     "en": "created the demo school, teacher, student and demo client."},
    "demo.exists": {"zh": "演示数据已存在，未改动（密码只在首次创建时显示）。",
                    "en": "the demo data exists, left unchanged (passwords are shown only "
                          "when first created)."},
    "demo.login": {"zh": "演示：启动后打开 {url} 登录（教师 {teacher} / {teacher_password}，"
                         "学生 {student} / {student_password}）",
                   "en": "demo: once serving, open {url} and log in (teacher {teacher} / "
                         "{teacher_password}, student {student} / {student_password})"},
    "demo.page.title": {"zh": "EduTrust 演示应用", "en": "EduTrust demo application"},
    "demo.page.login": {"zh": "使用 EduTrust 登录", "en": "Log in with EduTrust"},
    "demo.page.claims": {"zh": "已验证的 ID 令牌声明（{alg} 签名）",
                         "en": "Verified ID token claims ({alg} signature)"},
    "demo.page.failed": {"zh": "登录未完成：{reason}", "en": "Login did not complete: {reason}"},
    "demo.page.not_configured": {"zh": "演示客户端尚未创建：请运行 edutrust init --demo。",
                                 "en": "The demo client does not exist yet: run edutrust init "
                                       "--demo."},
    # -- identity provider: pages -----------------------------------------------------
    "idp.footer": {"zh": "教育可信身份与存证平台", "en": "Education trusted identity platform"},
    "idp.login.title": {"zh": "登录", "en": "Sign in"},
    "idp.login.for_client": {"zh": "登录后继续访问 {client}。",
                             "en": "Sign in to continue to {client}."},
    "idp.login.username": {"zh": "用户名", "en": "Username"},
    "idp.login.password": {"zh": "密码", "en": "Password"},
    "idp.login.submit": {"zh": "登录", "en": "Sign in"},
    "idp.login.failed": {"zh": "用户名或密码不正确。", "en": "Incorrect username or password."},
    "idp.login.done": {"zh": "{name}，您已登录。", "en": "{name}, you are signed in."},
    "idp.consent.title": {"zh": "授权确认", "en": "Allow access"},
    "idp.consent.signed_in_as": {"zh": "当前登录：{name}", "en": "Signed in as {name}"},
    "idp.consent.asks": {"zh": "“{client}”请求获取以下信息：",
                         "en": "“{client}” asks for access to:"},
    "idp.consent.allow": {"zh": "同意", "en": "Allow"},
    "idp.consent.deny": {"zh": "拒绝", "en": "Deny"},
    "idp.scope.openid": {"zh": "您在该应用中的账号标识", "en": "An identifier of your account "
                         "for this application"},
    "idp.scope.profile": {"zh": "姓名和用户名", "en": "Your name and username"},
    "idp.scope.email": {"zh": "电子邮箱", "en": "Your email address"},
    "idp.scope.phone": {"zh": "手机号码", "en": "Your phone number"},
    "idp.scope.edu": {"zh": "所属机构、学校和角色", "en": "Your organisations, school and roles"},
    "idp.error.title": {"zh": "无法完成请求", "en": "The request cannot be completed"},
    "idp.error.request": {"zh": "应用发来的登录请求无效，请返回该应用重试。",
                          "en": "The application sent an invalid sign-in request. Go back to "
                                "it and try again."},
    "idp.error.csrf": {"zh": "页面已过期或来源不明，请返回重新操作。",
                       "en": "This page has expired or did not come from us. Go back and try "
                             "again."},
    "idp.error.expired": {"zh": "登录请求已过期，请返回应用重新开始。",
                          "en": "The sign-in request has expired. Go back to the application "
                                "and start again."},
    "idp.logout.title": {"zh": "退出登录", "en": "Sign out"},
    "idp.logout.confirm": {"zh": "要退出 EduTrust 统一身份认证吗？",
                           "en": "Do you want to sign out of EduTrust?"},
    "idp.logout.from_client": {"zh": "“{client}”请求退出登录。",
                               "en": "“{client}” asks to sign you out."},
    "idp.logout.yes": {"zh": "退出登录", "en": "Sign out"},
    "idp.logout.no": {"zh": "保持登录", "en": "Stay signed in"},
    "idp.logout.done": {"zh": "您已退出登录。", "en": "You have signed out."},
    "idp.logout.kept": {"zh": "您仍处于登录状态。", "en": "You are still signed in."},
    "idp.error.logout": {"zh": "应用发来的退出登录请求无效，未执行任何操作。",
                         "en": "The application sent an invalid sign-out request; nothing "
                               "was done."},
    # -- HTTP problems (RFC 9457) -----------------------------------------------------
    "problem.not_found.title": {"zh": "未找到", "en": "Not found"},
    "problem.not_found.detail": {"zh": "请求的资源不存在。",
                                 "en": "The requested resource does not exist."},
    "problem.method_not_allowed.title": {"zh": "方法不被允许", "en": "Method not allowed"},
    "problem.method_not_allowed.detail": {"zh": "该资源不支持此 HTTP 方法。",
                                          "en": "This resource does not support that HTTP "
                                                "method."},
    "problem.bad_request.title": {"zh": "请求无效", "en": "Bad request"},
    "problem.bad_request.detail": {"zh": "请求格式不正确。",
                                   "en": "The request is malformed."},
    "problem.internal.title": {"zh": "服务器内部错误", "en": "Internal server error"},
    "problem.internal.detail": {"zh": "服务器遇到意外错误，已记录。请求编号：{request_id}",
                                "en": "The server hit an unexpected error and logged it. "
                                      "Request id: {request_id}"},
    "problem.unavailable.title": {"zh": "服务暂不可用", "en": "Service unavailable"},
    "problem.unavailable.detail": {"zh": "数据库暂时无法访问。",
                                   "en": "The database cannot be reached right now."},
    "problem.too_large.title": {"zh": "请求体过大", "en": "Payload too large"},
    "problem.too_large.detail": {"zh": "请求体超过了允许的大小。",
                                 "en": "The request body exceeds the allowed size."},
    "problem.ledger_parameter.title": {"zh": "参数无效", "en": "Invalid parameter"},
    "problem.ledger_parameter.detail": {"zh": "{name} 须为 0 至 2^64-1 之间的十进制整数。",
                                        "en": "{name} must be a decimal whole number from 0 "
                                              "to 2^64-1."},
    "problem.ledger_range.title": {"zh": "范围无效", "en": "Invalid range"},
    "problem.ledger_range.detail": {"zh": "索引须小于树大小，树大小须大于 0，from 不得大于 to。",
                                    "en": "The index must be below the tree size, the size "
                                          "above 0, and from not above to."},
    "problem.ledger_beyond_log.title": {"zh": "超出账本范围", "en": "Beyond the log"},
    "problem.ledger_beyond_log.detail": {"zh": "账本中还没有该项：当前共 {tree_size} 个叶子、"
                                               "{height} 个区块。",
                                         "en": "The log does not hold that yet: it has "
                                               "{tree_size} leaves in {height} blocks."},
    "problem.ledger_unavailable.title": {"zh": "账本不可用", "en": "Ledger unavailable"},
    "problem.ledger_unavailable.detail": {"zh": "账本尚未初始化或暂时无法访问。",
                                          "en": "The ledger is not initialised or cannot be "
                                                "reached right now."},
}


def translate(key: str, lang: str = DEFAULT_LANG, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (Chinese if unknown), placeholders filled."""
    entry = CATALOG[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**values) if values else text


def translator(lang: str) -> Translator:
    """A ``translate`` bound to one language, for code that must not import this module."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANG

    def bound(key: str, /, **values: object) -> str:
        return translate(key, chosen, **values)

    return bound


def negotiate(ui_locales: str | None, accept_language: Iterable[tuple[str, float]]) -> str:
    """Pick the page language: OIDC ``ui_locales`` first, then the browser's
    Accept-Language (already parsed into (tag, quality) pairs), then Chinese."""
    for tag in (ui_locales or "").split():
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    for tag, _quality in sorted(accept_language, key=lambda t: -t[1]):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANG
