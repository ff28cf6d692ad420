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
    "init.ca_missing": {"zh": "平台根 CA 证书不存在：请先运行 edutrust init",
                        "en": "the platform root CA certificate is missing: run "
                              "edutrust init first"},
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
    "records.no_trust_anchors": {"zh": "没有固定的信任锚 {path}：请用 --trust-anchors 指定，"
                                       "或运行 edutrust init",
                                 "en": "no pinned trust anchors at {path}: give "
                                       "--trust-anchors FILE or run edutrust init"},
    "records.trust_anchors_pinned": {"zh": "已固定信任锚：{path}",
                                     "en": "trust anchors pinned in {path}"},
    "records.trust_anchors_exist": {"zh": "信任锚文件已存在，未改动：{path}",
                                    "en": "trust anchors already pinned, unchanged: {path}"},
    "records.database_error": {"zh": "数据库或账本错误：{reason}",
                               "en": "database or ledger error: {reason}"},
    "records.bad_reviewer": {"zh": "{org} 不是有权审核档案条目的已登记机构",
                             "en": "{org} is not a registered organisation that may review "
                                   "archive entries"},
    "records.import_failed": {"zh": "导入失败：{reason}", "en": "import failed: {reason}"},
    "records.org_added": {"zh": "已登记存证机构 {org}（密钥 {kid}）",
                          "en": "records organisation {org} registered (key {kid})"},
    "records.org_refused": {"zh": "无法登记机构 {org}：{reason}",
                            "en": "cannot register organisation {org}: {reason}"},
    "records.bad_region": {"zh": "地区 {region} 不是两位省级行政区划代码",
                           "en": "region {region} is not a 2-digit province code"},
    "records.import_progress": {"zh": "导入档案条目", "en": "importing archive entries"},
    "records.import_done": {"zh": "导入完成：共 {rows} 行，新建 {created}，未变 {unchanged}，"
                                  "上链 {anchored}，待审核 {awaiting}",
                            "en": "import done: {rows} rows, {created} created, {unchanged} "
                                  "unchanged, {anchored} anchored, {awaiting} awaiting "
                                  "review"},
    "records.import_dry_run": {"zh": "试运行（未写入）：共 {rows} 行，将新建 {created}，"
                                     "未变 {unchanged}",
                               "en": "dry run (nothing written): {rows} rows, {created} "
                                     "would be created, {unchanged} unchanged"},
    "records.import_rejected": {"zh": "文件有 {count} 处错误，未导入任何内容",
                                "en": "the file has {count} errors; nothing was imported"},
    "records.import.row_error": {"zh": "第 {line} 行：{reason}", "en": "line {line}: {reason}"},
    "records.import.file.not_utf8": {"zh": "{path} 不是 UTF-8 编码（第 {line} 行）",
                                     "en": "{path} is not UTF-8 (line {line})"},
    "records.import.file.bad_csv": {"zh": "{path} 不是有效的 CSV（第 {line} 行）",
                                    "en": "{path} is not valid CSV (line {line})"},
    "records.import.file.bad_xlsx": {"zh": "{path} 不是可读的 XLSX 文件（{reason}）",
                                     "en": "{path} is not a readable XLSX file ({reason})"},
    "records.import.file.empty": {"zh": "{path} 没有表头行", "en": "{path} has no header row"},
    "records.import.file.unknown_columns": {"zh": "{path} 有未知的列：{columns}",
                                            "en": "{path} has unknown columns: {columns}"},
    "records.import.file.duplicate_columns": {"zh": "{path} 有重复的列：{columns}",
                                              "en": "{path} repeats columns: {columns}"},
    "records.import.file.missing_columns": {"zh": "{path} 缺少必需的列：{columns}",
                                            "en": "{path} lacks required columns: {columns}"},
    "records.import.file.too_many_rows": {"zh": "{path} 超过 {limit} 行",
                                          "en": "{path} has more than {limit} rows"},
    "records.import.row.field_count": {"zh": "单元格多于表头的 {detail} 列",
                                       "en": "more cells than the {detail} header columns"},
    "records.import.row.missing": {"zh": "缺少 {detail}", "en": "{detail} is missing"},
    "records.import.row.bad_date": {"zh": "{detail} 不是日期（YYYY-MM-DD）",
                                    "en": "{detail} is not a date (YYYY-MM-DD)"},
    "records.import.row.not_a_number": {"zh": "{detail} 不是数字",
                                        "en": "{detail} is not a number"},
    "records.import.row.not_member": {"zh": "目录中该 {detail} 不属于本行的学校",
                                      "en": "the directory does not place this {detail} "
                                            "in the row's school"},
    "records.import.row.bad_person": {"zh": "{detail} 不是目录中的人员标识",
                                      "en": "{detail} is not a directory person reference"},
    "records.import.row.personal_identifier": {
        "zh": "{detail} 像是身份证号或手机号：请使用目录中的人员标识",
        "en": "{detail} looks like an ID-card or phone number: use the directory person "
              "reference"},
    "records.import.row.invalid": {"zh": "内容不符合档案条目格式：{detail}",
                                   "en": "not a valid archive entry: {detail}"},
    "records.import.row.duplicate": {"zh": "与第 {detail} 行重复（学校、人员、成就与学期相同）",
                                     "en": "duplicate of line {detail} (same school, person, "
                                           "achievement and term)"},
    "records.import.row.foreign_school": {"zh": "{detail} 不是本次导入的学校",
                                          "en": "{detail} is not the school of this import"},
    "records.import.row.unknown_school": {"zh": "{detail} 不是已登记的发证机构",
                                          "en": "{detail} is not a registered issuer"},
    "records.import.row.not_authorised": {"zh": "{detail} 无权登记档案条目",
                                          "en": "{detail} may not register archive entries"},
    # -- records: public verification page (/verify/{code}) ------------------------
    "records.page.title": {"zh": "EduTrust 存证在线验证报告",
                           "en": "EduTrust online verification report"},
    "records.page.heading": {"zh": "存证在线验证报告", "en": "Online verification report"},
    "records.page.subtitle": {
        "zh": "教育可信身份与存证平台 · 由持有人分享",
        "en": "EduTrust trusted records · shared by the holder"},
    "records.page.switch_language": {"zh": "切换到 English", "en": "中文"},
    "records.page.overall.valid": {
        "zh": "有效：本记录通过全部核验",
        "en": "Valid: this record passed every check"},
    "records.page.overall.invalid": {
        "zh": "无效：本记录未通过核验",
        "en": "Invalid: this record failed verification"},
    "records.page.overall.indeterminate": {
        "zh": "无法确定：部分核验无法完成",
        "en": "Indeterminate: some checks could not be completed"},
    "records.page.overall_note.valid": {
        "zh": "签名、机构资质、审核、账本存证与状态均已核实。",
        "en": "Signature, issuer authority, review, ledger anchor and status were all confirmed."},
    "records.page.overall_note.invalid": {
        "zh": "下列至少一项核验失败，请勿采信本记录。",
        "en": "At least one check below failed: do not rely on this record."},
    "records.page.overall_note.indeterminate": {
        "zh": "下列至少一项核验无法完成（如账本暂不可达），请稍后重试。",
        "en": "At least one check below could not be completed (e.g. the ledger is "
              "unreachable); try again later."},
    "records.page.record": {"zh": "记录", "en": "Record"},
    "records.page.content": {"zh": "持有人分享的内容", "en": "Content shared by the holder"},
    "records.page.checks": {"zh": "核验项", "en": "Checks"},
    "records.page.this_report": {"zh": "本报告", "en": "This report"},
    "records.page.fact.type": {"zh": "类型", "en": "Type"},
    "records.page.fact.issuer": {"zh": "发证机构", "en": "Issuer"},
    "records.page.fact.state": {"zh": "状态", "en": "State"},
    "records.page.fact.valid_from": {"zh": "生效时间", "en": "Valid from"},
    "records.page.fact.valid_until": {"zh": "失效时间", "en": "Valid until"},
    "records.page.fact.id": {"zh": "记录编号", "en": "Record id"},
    "records.page.fact.digest": {"zh": "摘要（SM3）", "en": "Digest (SM3)"},
    "records.page.fact.anchor": {
        "zh": "账本存证（通道 · 区块 · 叶）",
        "en": "Ledger anchor (channel · block · leaf)"},
    "records.page.fact.checked_at": {"zh": "核验时间", "en": "Checked at"},
    "records.page.fact.expires_at": {"zh": "验证码有效期至", "en": "Share code valid until"},
    "records.page.fact.url": {"zh": "本页地址", "en": "This page"},
    "records.page.how_to_check": {
        "zh": "扫描二维码或打开上述地址可随时重新核验；也可向持有人索取离线核验包，"
              "用 edutrust records verify 离线核验。",
        "en": "Scan the QR code or open the address above to verify again at any time; or ask "
              "the holder for an offline bundle and check it with edutrust records verify."},
    "records.page.qr_caption": {"zh": "扫码核验", "en": "Scan to verify"},
    "records.page.footer": {
        "zh": "本报告由教育可信身份与存证平台自动生成；时间均为 UTC。",
        "en": "Generated by the EduTrust platform; all times are UTC."},
    "records.page.outcome.pass": {"zh": "通过", "en": "passed"},
    "records.page.outcome.fail": {"zh": "未通过", "en": "failed"},
    "records.page.outcome.indeterminate": {"zh": "无法确定", "en": "indeterminate"},
    "records.page.check.schema": {"zh": "格式", "en": "Schema"},
    "records.page.check.integrity": {"zh": "完整性", "en": "Integrity"},
    "records.page.check.signature": {"zh": "发证机构签名", "en": "Issuer signature"},
    "records.page.check.issuer_authority": {"zh": "发证机构资质", "en": "Issuer authority"},
    "records.page.check.review": {"zh": "审核", "en": "Review"},
    "records.page.check.anchor": {"zh": "账本存证", "en": "Ledger anchor"},
    "records.page.check.status": {"zh": "状态（撤销/暂停）",
                                  "en": "Status (revocation, suspension)"},
    "records.page.check.validity": {"zh": "有效期", "en": "Validity period"},
    "records.page.check.history": {"zh": "历史与版本", "en": "History and versions"},
    "records.page.type.archive_entry": {"zh": "数字档案条目", "en": "Archive entry"},
    "records.page.type.copyright_registration": {"zh": "资源版权备案",
                                                 "en": "Copyright registration"},
    "records.page.type.app_filing": {"zh": "教育移动应用备案", "en": "Education app filing"},
    "records.page.type.credit_record": {"zh": "企业信用记录", "en": "Credit record"},
    "records.page.state.draft": {"zh": "草稿", "en": "draft"},
    "records.page.state.submitted": {"zh": "已提交", "en": "submitted"},
    "records.page.state.under_review": {"zh": "审核中", "en": "under review"},
    "records.page.state.approved": {"zh": "已批准", "en": "approved"},
    "records.page.state.returned": {"zh": "已退回", "en": "returned"},
    "records.page.state.rejected": {"zh": "已驳回", "en": "rejected"},
    "records.page.state.active": {"zh": "有效（已上链）", "en": "active (anchored)"},
    "records.page.state.suspended": {"zh": "已暂停", "en": "suspended"},
    "records.page.state.revoked": {"zh": "已撤销", "en": "revoked"},
    "records.page.state.expired": {"zh": "已过期", "en": "expired"},
    "records.page.state.withdrawn": {"zh": "已撤回", "en": "withdrawn"},
    "records.page.gone.not_found.title": {"zh": "验证码不存在", "en": "Unknown share code"},
    "records.page.gone.not_found.text": {
        "zh": "请核对验证码是否输入正确，或向持有人索取新的验证码。",
        "en": "Check that the code was typed correctly, or ask the holder for a new one."},
    "records.page.gone.expired.title": {"zh": "验证码已过期", "en": "This share code has expired"},
    "records.page.gone.expired.text": {
        "zh": "持有人设定的有效期已过，请向持有人索取新的验证码。",
        "en": "The validity the holder chose has ended; ask the holder for a new code."},
    "records.page.gone.revoked.title": {
        "zh": "验证码已被持有人撤销",
        "en": "The holder has revoked this share code"},
    "records.page.gone.revoked.text": {
        "zh": "如仍需核验，请向持有人索取新的验证码。",
        "en": "If you still need to verify the record, ask the holder for a new code."},
    "records.page.gone.record_gone.title": {
        "zh": "记录已不可用",
        "en": "The record is no longer available"},
    "records.page.gone.record_gone.text": {
        "zh": "该验证码所分享的记录已不存在。",
        "en": "The record this code shared no longer exists."},
    "records.page.gone.unavailable.title": {
        "zh": "暂时无法核验",
        "en": "Verification is temporarily unavailable"},
    "records.page.gone.unavailable.text": {
        "zh": "平台暂时无法完成核验，请稍后重试。",
        "en": "The platform cannot verify right now; please try again later."},
    "records.page.field.recipient": {"zh": "获得者", "en": "Recipient"},
    "records.page.field.name": {"zh": "名称", "en": "Name"},
    "records.page.field.role": {"zh": "身份", "en": "Role"},
    "records.page.field.achievement": {"zh": "成就", "en": "Achievement"},
    "records.page.field.achievementType": {"zh": "成就类型", "en": "Achievement type"},
    "records.page.field.criteria": {"zh": "认定标准", "en": "Criteria"},
    "records.page.field.narrative": {"zh": "说明", "en": "Narrative"},
    "records.page.field.description": {"zh": "描述", "en": "Description"},
    "records.page.field.creditsAvailable": {"zh": "学分（应得）", "en": "Credits available"},
    "records.page.field.fieldOfStudy": {"zh": "学科领域", "en": "Field of study"},
    "records.page.field.result": {"zh": "成绩", "en": "Result"},
    "records.page.field.resultDescription": {"zh": "成绩项", "en": "Result description"},
    "records.page.field.value": {"zh": "结果", "en": "Value"},
    "records.page.field.achievedLevel": {"zh": "等级", "en": "Achieved level"},
    "records.page.field.status": {"zh": "状态", "en": "Status"},
    "records.page.field.creditsEarned": {"zh": "学分（实得）", "en": "Credits earned"},
    "records.page.field.term": {"zh": "学期", "en": "Term"},
    "records.page.field.activityStartDate": {"zh": "开始日期", "en": "Start date"},
    "records.page.field.activityEndDate": {"zh": "结束日期", "en": "End date"},
    "records.page.field.awardedDate": {"zh": "授予日期", "en": "Awarded on"},
    "records.page.field.evidence": {"zh": "佐证材料", "en": "Evidence"},
    "records.page.field.sm3": {"zh": "SM3 摘要", "en": "SM3 digest"},
    "records.page.field.size": {"zh": "大小（字节）", "en": "Size (bytes)"},
    "records.page.field.title": {"zh": "标题", "en": "Title"},
    "records.page.field.category": {"zh": "类别", "en": "Category"},
    "records.page.field.authors": {"zh": "作者", "en": "Authors"},
    "records.page.field.rights_holders": {"zh": "权利人", "en": "Rights holders"},
    "records.page.field.created_on": {"zh": "创作日期", "en": "Created on"},
    "records.page.field.first_published_on": {"zh": "首次发表日期", "en": "First published on"},
    "records.page.field.content": {"zh": "内容", "en": "Content"},
    "records.page.field.licence": {"zh": "许可", "en": "Licence"},
    "records.page.field.provider": {"zh": "提供者", "en": "Provider"},
    "records.page.field.app": {"zh": "应用", "en": "App"},
    "records.page.field.credit_code": {"zh": "统一社会信用代码",
                                       "en": "Unified social credit code"},
    "records.page.field.province": {"zh": "省份代码", "en": "Province code"},
    "records.page.field.version": {"zh": "版本", "en": "Version"},
    "records.page.field.icp_filing_number": {"zh": "ICP 备案号", "en": "ICP filing number"},
    "records.page.field.security_protection": {"zh": "等级保护",
                                               "en": "Security protection (等保)"},
    "records.page.field.privacy_policy": {"zh": "隐私政策", "en": "Privacy policy"},
    "records.page.field.provider_name": {"zh": "提供者名称", "en": "Provider name"},
    "records.page.field.kind": {"zh": "类别", "en": "Kind"},
    "records.page.field.basis": {"zh": "依据", "en": "Basis"},
    "records.page.field.period": {"zh": "期间", "en": "Period"},
    "records.import.row.changed": {"zh": "此条目已导入（记录 {detail}）但内容不同：请修订该记录",
                                   "en": "already imported as record {detail} with other "
                                         "values: amend that record instead"},
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
    "clients.org_unknown": {"zh": "目录中没有代码为 {code} 的机构",
                            "en": "no organisation with code {code} is in the directory"},
    "clients.org_needs_client_credentials": {
        "zh": "只有 client_credentials 客户端才能代表机构（--org）",
        "en": "only client_credentials clients act for an organisation (--org)"},
    "clients.unknown": {"zh": "没有客户端 {client_id}", "en": "no client {client_id}"},
    "clients.public_fixed": {"zh": "客户端不能在公开与机密之间切换",
                             "en": "a client cannot switch between public and confidential"},
    "clients.no_secret": {"zh": "认证方式为 {method} 的客户端没有客户端密钥",
                          "en": "clients authenticating with {method} have no client secret"},
    "clients.operator_marked": {"zh": "已将客户端 {client_id} 登记为运维客户端。",
                                "en": "client {client_id} is registered as an operator client."},
    # -- identity provider: resource servers (RFC 8707) and purge ------------------------
    "resources.bad_identifier": {"zh": "资源标识无效：{identifier}（须为不含片段、不超过 255 个"
                                       "字符的绝对 URI）",
                                 "en": "invalid resource identifier: {identifier} (an "
                                       "absolute URI without a fragment, at most 255 "
                                       "characters)"},
    "resources.taken": {"zh": "资源服务器 {identifier} 已登记",
                        "en": "the resource server {identifier} is already registered"},
    "resources.created": {"zh": "已登记资源服务器 {name}（{identifier}）。",
                          "en": "registered the resource server {name} ({identifier})."},
    "idp.purged": {"zh": "已删除 {total} 条过期的授权码、令牌、推送请求和登录会话记录。",
                   "en": "deleted {total} expired authorization codes, tokens, pushed "
                         "requests and login sessions."},
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
    # -- identity provider: second factor, lockout, account security (docs/mfa.md) ------
    "idp.locked.title": {"zh": "尝试次数过多", "en": "Too many attempts"},
    "idp.locked.locked": {"zh": "登录失败次数过多，已暂时锁定。请在 {minutes} 分钟后再试，"
                                "或联系学校管理员。",
                          "en": "Too many failed sign-in attempts: sign-in is locked for now. "
                                "Try again in {minutes} minutes, or contact your school's "
                                "administrator."},
    "idp.locked.wait": {"zh": "登录失败次数较多，请等待 {seconds} 秒后再试。",
                        "en": "Several sign-in attempts failed. Wait {seconds} seconds before "
                              "trying again."},
    "idp.mfa.title": {"zh": "两步验证", "en": "Two-step verification"},
    "idp.mfa.choose": {"zh": "请选择验证方式：", "en": "Choose how to verify it is you:"},
    "idp.mfa.factor.totp": {"zh": "身份验证器应用（动态验证码）",
                            "en": "Authenticator app (one-time code)"},
    "idp.mfa.factor.recovery": {"zh": "恢复码", "en": "Recovery code"},
    "idp.mfa.totp.prompt": {"zh": "请输入身份验证器应用中显示的 6 位验证码。",
                            "en": "Enter the 6-digit code shown in your authenticator app."},
    "idp.mfa.totp.code": {"zh": "验证码", "en": "Code"},
    "idp.mfa.verify": {"zh": "验证", "en": "Verify"},
    "idp.mfa.failed": {"zh": "验证码不正确或已使用过。", "en": "The code is wrong or was used "
                       "already."},
    "idp.mfa.use_recovery": {"zh": "无法使用验证器？改用恢复码",
                             "en": "Can't use your app? Use a recovery code"},
    "idp.mfa.other_method": {"zh": "改用其他验证方式", "en": "Use another method"},
    "idp.mfa.recovery.prompt": {"zh": "请输入一个尚未使用过的恢复码（每个只能使用一次）。",
                                "en": "Enter one of your unused recovery codes (each works "
                                      "once)."},
    "idp.mfa.recovery.code": {"zh": "恢复码", "en": "Recovery code"},
    "idp.mfa.enroll.title": {"zh": "设置两步验证", "en": "Set up two-step verification"},
    "idp.mfa.enroll.required": {"zh": "您所在机构要求您的账号使用第二重验证。"
                                      "请选择一种方式完成设置：",
                                "en": "Your organisation requires a second factor for your "
                                      "account. Choose one to set up:"},
    "idp.mfa.totp.enroll_title": {"zh": "设置身份验证器应用", "en": "Set up an authenticator app"},
    "idp.mfa.totp.step_scan": {"zh": "用身份验证器应用扫描下方二维码。",
                               "en": "Scan the QR code below with your authenticator app."},
    "idp.mfa.totp.step_confirm": {"zh": "输入应用显示的 6 位验证码以确认。",
                                  "en": "Enter the 6-digit code the app shows to confirm."},
    "idp.mfa.totp.manual": {"zh": "无法扫码时，可手动输入密钥：",
                            "en": "If you cannot scan, enter this key by hand:"},
    "idp.mfa.totp.confirm": {"zh": "确认", "en": "Confirm"},
    "idp.mfa.reauth.password": {"zh": "当前密码", "en": "Current password"},
    "idp.mfa.reauth.code": {"zh": "验证码或恢复码", "en": "Code or recovery code"},
    "idp.mfa.reauth.failed": {"zh": "密码或验证码不正确，未做任何更改。",
                              "en": "The password or code is wrong; nothing was changed."},
    "idp.mfa.codes.title": {"zh": "您的恢复码", "en": "Your recovery codes"},
    "idp.mfa.codes.once": {"zh": "请立即抄写或打印并妥善保管：这些恢复码只显示这一次，"
                                 "每个只能使用一次，旧的恢复码已全部失效。",
                           "en": "Write these down or print them now and keep them safe: they "
                                 "are shown only this once, each works once, and any older "
                                 "codes no longer work."},
    "idp.mfa.codes.saved": {"zh": "我已保存，继续", "en": "I have saved them, continue"},
    "idp.mfa.continue": {"zh": "继续", "en": "Continue"},
    "idp.mfa.cannot.title": {"zh": "无法完成登录", "en": "Sign-in cannot be completed"},
    "idp.mfa.cannot.body": {"zh": "此次登录要求使用通行密钥（防钓鱼验证），但当前无法在此设置。"
                                  "请联系学校管理员。",
                            "en": "This sign-in needs a passkey (phishing-resistant), which "
                                  "cannot be set up here now. Contact your school's "
                                  "administrator."},
    "idp.notice.title": {"zh": "账号安全提醒", "en": "Account security notice"},
    "idp.notice.not_you": {"zh": "如果这不是您本人的操作，请立即修改密码并联系学校管理员。",
                           "en": "If this was not you, change your password now and contact "
                                 "your school's administrator."},
    "idp.notice.recovery_code_used": {"zh": "有人使用恢复码登录了您的账号（剩余 {left} 个）。",
                                      "en": "A recovery code was used to sign in to your "
                                            "account ({left} left)."},
    "idp.notice.factor_added": {"zh": "您的账号添加了新的验证方式（{factor}）。",
                                "en": "A sign-in method was added to your account "
                                      "({factor})."},
    "idp.notice.factor_removed": {"zh": "您的账号移除了一种验证方式（{factor}）。",
                                  "en": "A sign-in method was removed from your account "
                                        "({factor})."},
    "idp.notice.passkey_cloned": {"zh": "您的一个通行密钥的签名计数器出现回退，可能已被复制，"
                                        "已被停用。请在账号安全页面移除它并重新添加。",
                                  "en": "The signature counter of one of your passkeys went "
                                        "backwards: it may have been copied and is blocked. "
                                        "Remove it on the account page and add a new one."},
    "idp.notice.recovery_codes_regenerated": {"zh": "您的恢复码已重新生成，旧恢复码已失效。",
                                              "en": "Your recovery codes were replaced; the "
                                                    "old ones no longer work."},
    "idp.account.title": {"zh": "账号安全", "en": "Account security"},
    "idp.account.required.mfa": {"zh": "您所在机构要求使用两步验证。",
                                 "en": "Your organisation requires two-step verification."},
    "idp.account.required.phr": {"zh": "您所在机构要求使用通行密钥登录（防钓鱼）。",
                                 "en": "Your organisation requires a passkey "
                                       "(phishing-resistant)."},
    "idp.account.factors": {"zh": "验证方式", "en": "Sign-in methods"},
    "idp.account.no_factors": {"zh": "尚未设置第二重验证。", "en": "No second factor yet."},
    "idp.account.totp_add": {"zh": "添加身份验证器应用", "en": "Add an authenticator app"},
    "idp.account.totp_replace": {"zh": "更换身份验证器应用", "en": "Replace the authenticator app"},
    "idp.account.totp_remove": {"zh": "移除身份验证器应用", "en": "Remove the authenticator app"},
    "idp.account.recovery": {"zh": "恢复码", "en": "Recovery codes"},
    "idp.account.recovery_left": {"zh": "剩余可用恢复码：{count} 个。",
                                  "en": "Unused recovery codes: {count}."},
    "idp.account.recovery_new": {"zh": "生成新的恢复码", "en": "Generate new recovery codes"},
    "idp.account.notices": {"zh": "近期安全事件", "en": "Recent security events"},
    "idp.account.no_notices": {"zh": "暂无。", "en": "None."},
    # -- passkeys (idp.webauthn, idp/web/passkeys.py) -------------------------------------
    "idp.mfa.factor.passkey": {"zh": "通行密钥（Passkey）", "en": "Passkey"},
    "idp.account.passkeys": {"zh": "管理通行密钥", "en": "Manage passkeys"},
    "idp.passkey.sign_in": {"zh": "使用通行密钥登录", "en": "Sign in with a passkey"},
    "idp.passkey.sign_in_help": {"zh": "用手机、电脑或安全密钥上的通行密钥登录，无需输入密码。"
                                       "用户名可以不填。",
                                 "en": "Use a passkey on your phone, computer or security key "
                                       "instead of a password. The username is optional."},
    "idp.passkey.username_optional": {"zh": "用户名（可不填）", "en": "Username (optional)"},
    "idp.passkey.use": {"zh": "使用通行密钥", "en": "Use a passkey"},
    "idp.passkey.use_password": {"zh": "改用密码登录", "en": "Sign in with a password instead"},
    "idp.passkey.problem": {"zh": "通行密钥操作失败", "en": "Passkey request refused"},
    "idp.passkey.step_prompt": {"zh": "请使用您的通行密钥完成第二步验证。",
                                "en": "Use your passkey to finish signing in."},
    "idp.passkey.enroll_title": {"zh": "设置通行密钥", "en": "Set up a passkey"},
    "idp.passkey.enroll_prompt": {"zh": "您所在机构要求使用通行密钥登录。请现在在本设备或安全密钥上"
                                        "创建一个通行密钥。",
                                  "en": "Your organisation requires a passkey. Create one now "
                                        "on this device or on a security key."},
    "idp.passkey.account_title": {"zh": "通行密钥", "en": "Passkeys"},
    "idp.passkey.account_help": {"zh": "通行密钥可防钓鱼：它只在本平台的网址上有效。"
                                       "您可以为多台设备分别添加通行密钥。",
                                 "en": "Passkeys resist phishing: they work only on this "
                                       "platform's address. Add one for each of your devices."},
    "idp.passkey.none": {"zh": "尚未添加通行密钥。", "en": "No passkeys yet."},
    "idp.passkey.name": {"zh": "名称", "en": "Name"},
    "idp.passkey.name_example": {"zh": "例如：我的手机", "en": "e.g. My phone"},
    "idp.passkey.add": {"zh": "添加通行密钥", "en": "Add a passkey"},
    "idp.passkey.rename": {"zh": "重命名", "en": "Rename"},
    "idp.passkey.remove": {"zh": "移除", "en": "Remove"},
    "idp.passkey.needs_recent_login": {"zh": "添加或移除通行密钥前需要重新登录"
                                             "（须在 10 分钟内登录过）。",
                                       "en": "To add or remove a passkey, sign in again first "
                                             "(it needs a sign-in within the last 10 minutes)."},
    "idp.passkey.created": {"zh": "添加于 {when}", "en": "added {when}"},
    "idp.passkey.last_used": {"zh": "最近使用 {when}", "en": "last used {when}"},
    "idp.passkey.never_used": {"zh": "尚未使用", "en": "never used"},
    "idp.passkey.synced": {"zh": "可同步（云端备份）", "en": "synced (backed up)"},
    "idp.passkey.device_bound": {"zh": "仅限本设备", "en": "device-bound"},
    "idp.passkey.cloned_flag": {"zh": "该通行密钥的签名计数器出现回退，可能已被复制，已停用。"
                                      "请移除后重新添加。",
                                "en": "This passkey's signature counter went backwards: it "
                                      "may have been copied and is blocked. Remove it and add "
                                      "a new one."},
    "passkey.expired": {"zh": "通行密钥请求已过期或已使用，请重试。",
                        "en": "The passkey request expired or was already used. Try again."},
    "passkey.invalid_response": {"zh": "通行密钥验证失败，请重试。",
                                 "en": "The passkey could not be verified. Try again."},
    "passkey.unknown_credential": {"zh": "无法识别该通行密钥，它可能已被移除。",
                                   "en": "This passkey is not recognised; it may have been "
                                         "removed."},
    "passkey.cloned": {"zh": "该通行密钥可能已被复制，已停用。请用其他方式登录并联系学校管理员。",
                       "en": "This passkey may have been copied and is blocked. Sign in "
                             "another way and contact your school's administrator."},
    "passkey.attestation_required": {"zh": "您所在机构要求认证器提供证明（attestation），"
                                           "该认证器未提供。",
                                     "en": "Your organisation requires an attestation from the "
                                           "authenticator, and this one sent none."},
    "passkey.attestation_untrusted": {"zh": "该认证器不在您所在机构认可的范围内。",
                                      "en": "This authenticator is not one your organisation "
                                            "accepts."},
    "passkey.already_registered": {"zh": "该通行密钥已经添加过。",
                                   "en": "This passkey is already registered."},
    "passkey.too_many": {"zh": "最多可添加 {limit} 个通行密钥。",
                         "en": "You can have at most {limit} passkeys."},
    "passkey.unknown_person": {"zh": "账号不存在或已停用。",
                               "en": "The account does not exist or is disabled."},
    "passkey.bad_attestation_setting": {"zh": "证明设置须为 none 或 direct，根证书须为 PEM 格式。",
                                        "en": "attestation must be none or direct, and root "
                                              "certificates PEM."},
    "passkey.not_signed_in": {"zh": "请先登录。", "en": "Sign in first."},
    "passkey.attestation_set": {"zh": "机构 {code} 的通行密钥证明要求已设为 {attestation}",
                                "en": "passkey attestation of organisation {code} set to "
                                      "{attestation}"},
    "passkey.reauthenticate": {"zh": "添加或移除通行密钥前请重新登录。",
                               "en": "Sign in again before adding or removing a passkey."},
    "passkey.browser_failed": {"zh": "未能使用通行密钥（已取消或超时），请重试。",
                               "en": "The passkey was not used (cancelled or timed out). "
                                     "Try again."},
    "passkey.unsupported": {"zh": "此浏览器不支持通行密钥。", "en": "This browser does not "
                            "support passkeys."},
    "mfa.policy.bad_role": {"zh": "未知角色：{role}", "en": "unknown role: {role}"},
    "mfa.policy.set": {"zh": "已设置：机构 {code} 的 {role} 登录要求为 {requirement}",
                       "en": "set: {role} logins at {code} need {requirement}"},
    "mfa.policy.requirement_missing": {"zh": "请同时给出角色和要求（none、mfa 或 phr）",
                                       "en": "give both a role and a requirement (none, mfa "
                                             "or phr)"},
    "mfa.policy.bad_requirement": {"zh": "未知的验证要求：{requirement}（应为 none、mfa 或 phr）",
                                   "en": "unknown requirement: {requirement} (expected none, "
                                         "mfa or phr)"},
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
    "idp.scope.records:submit": {"zh": "以您所在机构的名义登记、提交和修改存证记录",
                                 "en": "Register, submit and amend records for your "
                                       "organisation"},
    "idp.scope.records:review": {"zh": "以您所在机构的名义审核存证记录",
                                 "en": "Review records for your organisation"},
    "idp.scope.records:verify": {"zh": "查看和核验存证记录",
                                 "en": "Read and verify records"},
    "idp.scope.edutrust:admin": {"zh": "以运维人员身份管理平台（客户端、目录）",
                                 "en": "Administer the platform as an operator (clients, "
                                       "directory)"},
    "idp.scope.directory:import": {"zh": "以运维人员身份批量导入目录",
                                   "en": "Bulk-import the directory as an operator"},
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
    # -- audit log, guardian consent, password reset (issue 5) -----------------------
    "audit.intact": {"zh": "审计日志完整：{entries} 条记录，{checkpoints} 个签名检查点",
                     "en": "audit log intact: {entries} entries, {checkpoints} signed "
                           "checkpoints"},
    "audit.divergence": {"zh": "审计日志被篡改：第一处不一致位于序号 {seq}（{reason}）",
                         "en": "audit log tampered with: first divergence at sequence {seq} "
                               "({reason})"},
    "audit.exported": {"zh": "已导出 {count} 条审计记录", "en": "exported {count} audit "
                       "entries"},
    "audit.checkpointed": {"zh": "已在序号 {seq} 处签署检查点",
                           "en": "signed a checkpoint at sequence {seq}"},
    "audit.checkpoint_current": {"zh": "序号 {seq} 处已有检查点，无需签署",
                                 "en": "the head at sequence {seq} is already checkpointed"},
    "consents.title": {"zh": "已授权的应用", "en": "Applications you allowed"},
    "consents.granted": {"zh": "授权于 {date}，可获取：", "en": "Allowed on {date}, to receive:"},
    "consents.withdraw": {"zh": "撤回授权", "en": "Withdraw"},
    "consents.withdrawn": {"zh": "已撤回授权，该应用持有的令牌已全部作废。",
                           "en": "Withdrawn; every token that application held for you is "
                                 "revoked."},
    "consents.unknown": {"zh": "没有找到该授权。", "en": "That consent was not found."},
    "consents.none": {"zh": "你尚未授权任何第三方应用。",
                      "en": "You have not allowed any third-party application."},
    "guardian.required.title": {"zh": "需要监护人同意", "en": "A guardian must approve"},
    "guardian.required.body": {"zh": "根据《个人信息保护法》，不满十四周岁的未成年人的个人信息"
                                     "须经监护人同意后，才能提供给第三方平台“{client}”。",
                               "en": "Under the Personal Information Protection Law, the "
                                     "personal information of a child under 14 goes to the "
                                     "third-party platform “{client}” only once a guardian "
                                     "approves."},
    "guardian.required.next": {"zh": "已通知你的监护人。请监护人登录 EduTrust，在“监护人同意"
                                     "管理”页面批准后，再回到该应用重新登录。",
                               "en": "Your guardian has been asked. Once they sign in to "
                                     "EduTrust and approve on the guardian consent page, go "
                                     "back to the application and sign in again."},
    "guardian.required.no_guardian": {"zh": "你的账号尚未关联监护人，请联系学校管理员。",
                                      "en": "No guardian is linked to your account yet; "
                                            "ask your school's administrator."},
    "guardian.page.title": {"zh": "监护人同意管理", "en": "Guardian consent"},
    "guardian.page.child": {"zh": "孩子：{name}", "en": "Child: {name}"},
    "guardian.page.approve": {"zh": "同意", "en": "Approve"},
    "guardian.page.refuse": {"zh": "拒绝", "en": "Refuse"},
    "guardian.page.withdraw": {"zh": "撤回同意", "en": "Withdraw consent"},
    "guardian.page.no_children": {"zh": "你的账号没有关联需要监护的孩子。",
                                  "en": "No child is linked to your account."},
    "guardian.page.nothing": {"zh": "暂无待处理的请求或已给出的同意。",
                              "en": "No requests or consents yet."},
    "guardian.page.cannot": {"zh": "无法执行该操作：请求不存在、已处理，或你不是该孩子的监护人。",
                             "en": "That cannot be done: the request does not exist, was "
                                   "already decided, or you are not this child's guardian."},
    "guardian.page.done.approved": {"zh": "已同意。", "en": "Approved."},
    "guardian.page.done.refused": {"zh": "已拒绝。", "en": "Refused."},
    "guardian.page.done.withdrawn": {"zh": "已撤回同意，该平台持有的令牌已全部作废。",
                                     "en": "Consent withdrawn; every token that platform "
                                           "held for your child is revoked."},
    "guardian.status.pending": {"zh": "待处理", "en": "Waiting for you"},
    "guardian.status.approved": {"zh": "已同意", "en": "Approved"},
    "guardian.status.refused": {"zh": "已拒绝", "en": "Refused"},
    "guardian.status.withdrawn": {"zh": "已撤回", "en": "Withdrawn"},
    "reset.title": {"zh": "重置密码", "en": "Reset your password"},
    "reset.intro": {"zh": "请设置新密码。设置后，你在所有设备上的登录都会退出。",
                    "en": "Choose a new password. Once it is set, you are signed out "
                          "everywhere."},
    "reset.new_password": {"zh": "新密码", "en": "New password"},
    "reset.again": {"zh": "再次输入新密码", "en": "New password again"},
    "reset.submit": {"zh": "设置新密码", "en": "Set the new password"},
    "reset.mismatch": {"zh": "两次输入的密码不一致。", "en": "The two passwords differ."},
    "reset.done": {"zh": "密码已更新，请使用新密码登录。",
                   "en": "Your password is changed. Sign in with the new one."},
    "reset.link_invalid": {"zh": "该重置链接无效、已使用或已过期。请联系学校管理员重新获取。",
                           "en": "This reset link is invalid, used or expired. Ask your "
                                 "school's administrator for a new one."},
    "reset.unknown_person": {"zh": "找不到该用户或管理员", "en": "no such person or "
                             "administrator"},
    "reset.not_administrator": {"zh": "该管理员无权重置此人的密码（须为此人所在学校的教职工，"
                                      "或平台运维人员）",
                                "en": "this administrator may not reset this person's "
                                      "password (staff of the person's school, or an "
                                      "operator)"},
    "reset.issue.title": {"zh": "发放密码重置链接", "en": "Issue a password reset link"},
    "reset.issue.intro": {"zh": "为本校学生、教师或家长生成一次性重置链接（24 小时内有效，仅可"
                                "使用一次），请当面或电话交给本人。",
                          "en": "Create a one-time reset link (valid 24 hours, usable once) "
                                "for a student, teacher or guardian of your school, and hand "
                                "it over in person or by phone."},
    "reset.issue.person": {"zh": "用户名", "en": "Username"},
    "reset.issue.submit": {"zh": "生成链接", "en": "Create the link"},
    "reset.issue.done": {"zh": "已为 {name} 生成重置链接，有效期至 {expires}：",
                         "en": "Reset link for {name}, valid until {expires}:"},
    "reset.issue.cannot": {"zh": "无法为该用户生成链接：用户不存在，或不属于你管理的学校。",
                           "en": "No link can be issued for that username: it does not "
                                 "exist or is not one of your school's people."},
    "reset.link_issued": {"zh": "已生成一次性重置链接，{hours} 小时内有效，仅可使用一次",
                          "en": "one-time reset link issued: valid for {hours} hours, "
                                "usable once"},
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
    # -- HTTP problems: records API (/api/v1) ----------------------------------------------
    "problem.records_unauthenticated.title": {"zh": "需要访问令牌", "en": "Access token needed"},
    "problem.records_unauthenticated.detail": {
        "zh": "请在 Authorization 请求头中提供有效的 Bearer 访问令牌。",
        "en": "Send a valid Bearer access token in the Authorization header."},
    "problem.records_insufficient_scope.title": {"zh": "权限范围不足",
                                                 "en": "Insufficient scope"},
    "problem.records_insufficient_scope.detail": {
        "zh": "访问令牌缺少所需的权限范围：{scope}",
        "en": "The access token lacks the scope this needs: {scope}"},
    "problem.records_no_role.title": {"zh": "无此角色", "en": "No role for this"},
    "problem.records_no_role.detail": {
        "zh": "您在任何机构都没有执行此操作的角色。",
        "en": "You hold no role in any organisation that may do this."},
    "problem.records_not_member.title": {"zh": "不能代表该机构", "en": "Not your organisation"},
    "problem.records_not_member.detail": {
        "zh": "您不能代表机构 {org} 执行此操作。",
        "en": "You may not do this for organisation {org}."},
    "problem.records_org_required.title": {"zh": "请指明机构", "en": "Organisation needed"},
    "problem.records_org_required.detail": {
        "zh": "您可代表多个机构（{orgs}），请在 {header} 请求头中指明其一。",
        "en": "You may act for several organisations ({orgs}); name one in the {header} "
              "header."},
    "problem.records_not_authorised.title": {"zh": "无权操作", "en": "Not authorised"},
    "problem.records_not_authorised.detail": {
        "zh": "该机构无权对此记录执行此操作（例如为其他学校的学生登记、审核本机构的记录或"
              "超出审核地区）。",
        "en": "The organisation may not do this to this record (for example register for "
              "another school's student, review its own records, or review outside its "
              "region)."},
    "problem.records_unknown_issuer.title": {"zh": "机构未登记", "en": "Unknown organisation"},
    "problem.records_unknown_issuer.detail": {
        "zh": "该机构未登记为存证签发或审核机构，或其无此类记录的权限。",
        "en": "The organisation is not registered to issue or review records of this "
              "kind."},
    "problem.records_not_found.title": {"zh": "记录不存在", "en": "Record not found"},
    "problem.records_not_found.detail": {
        "zh": "没有该记录，或您无权查看。",
        "en": "There is no such record, or you may not see it."},
    "problem.records_schema_violation.title": {"zh": "记录内容不符合模式",
                                               "en": "Record content violates its schema"},
    "problem.records_schema_violation.detail": {
        "zh": "记录内容不符合其 JSON Schema，问题见 errors。",
        "en": "The record content does not satisfy its JSON Schema; see errors."},
    "problem.records_request_schema.title": {"zh": "请求格式不符", "en": "Invalid request body"},
    "problem.records_request_schema.detail": {
        "zh": "请求体不符合接口定义，问题见 errors。",
        "en": "The request body does not match the API description; see errors."},
    "problem.records_bad_json.title": {"zh": "JSON 无效", "en": "Invalid JSON"},
    "problem.records_bad_json.detail": {"zh": "请求体不是有效的 JSON。",
                                        "en": "The request body is not valid JSON."},
    "problem.records_bad_parameter.title": {"zh": "参数无效", "en": "Invalid parameter"},
    "problem.records_bad_parameter.detail": {
        "zh": "参数 {name} 的值无效。", "en": "The value of {name} is not valid."},
    "problem.records_unknown_person.title": {"zh": "人员不存在", "en": "Unknown person"},
    "problem.records_unknown_person.detail": {
        "zh": "目录中没有记录主体所指的人员。",
        "en": "The directory has no person with the subject's reference."},
    "problem.records_unknown_schema.title": {"zh": "未知模式", "en": "Unknown schema"},
    "problem.records_unknown_schema.detail": {
        "zh": "没有该记录类型或模式版本。",
        "en": "There is no such record type or schema version."},
    "problem.records_malformed_record.title": {"zh": "记录格式错误", "en": "Malformed record"},
    "problem.records_malformed_record.detail": {
        "zh": "提交的记录信封结构不正确。", "en": "The record envelope is malformed."},
    "problem.records_malformed_bundle.title": {"zh": "核验包格式错误",
                                               "en": "Malformed bundle"},
    "problem.records_malformed_bundle.detail": {
        "zh": "提交的内容不是可读的离线核验包。", "en": "That is not a readable offline bundle."},
    "problem.records_canonical_form.title": {"zh": "无法规范化", "en": "Not canonicalisable"},
    "problem.records_canonical_form.detail": {
        "zh": "记录含有无法按 RFC 8785 规范化的值。",
        "en": "The record holds a value RFC 8785 cannot canonicalise."},
    "problem.records_illegal_transition.title": {"zh": "状态不允许", "en": "Illegal transition"},
    "problem.records_illegal_transition.detail": {
        "zh": "记录当前状态为 {current}，不能变为 {target}；允许的下一状态：{allowed}。",
        "en": "The record is {current} and cannot become {target}; allowed next states: "
              "{allowed}."},
    "problem.records_anchoring_failed.title": {"zh": "上链失败", "en": "Anchoring failed"},
    "problem.records_anchoring_failed.detail": {
        "zh": "账本未能存证此操作，记录未改变，请稍后重试。",
        "en": "The ledger did not anchor this; the record is unchanged. Try again later."},
    "problem.records_status_list.title": {"zh": "状态列表错误", "en": "Status list problem"},
    "problem.records_status_list.detail": {
        "zh": "记录的状态列表无法使用。", "en": "The record's status list cannot be used."},
    "problem.records_credential.title": {"zh": "无法导出凭证", "en": "No credential"},
    "problem.records_credential.detail": {
        "zh": "该记录版本无法导出为可验证凭证。",
        "en": "This record version cannot be exported as a credential."},
    "problem.records_share_not_found.title": {"zh": "分享码不存在",
                                              "en": "No such share code"},
    "problem.records_share_not_found.detail": {
        "zh": "没有该分享码，或它不属于您。",
        "en": "There is no such share code, or it is not yours."},
    "problem.records_share_gone.title": {"zh": "分享码已失效", "en": "Share code gone"},
    "problem.records_share_gone.detail": {"zh": "该分享码已过期或已被撤销。",
                                          "en": "That share code has expired or was "
                                                "revoked."},
    "problem.records_share_invalid.title": {"zh": "无法分享", "en": "Cannot share"},
    "problem.records_share_invalid.detail": {
        "zh": "分享请求无效：有效期须在 5 分钟至一年之间，字段须属于记录内容，且记录须已上链。",
        "en": "The share request is invalid: the expiry must be 5 minutes to one year "
              "ahead, fields must be members of the content, and the record must be on "
              "the ledger."},
    "problem.records_import_unreadable.title": {"zh": "无法读取导入文件",
                                                "en": "Unreadable import file"},
    "problem.records_import_unreadable.detail": {
        "zh": "上传的文件不是可导入的 CSV 或 XLSX 文件，原因见 reason。",
        "en": "The upload is not an importable CSV or XLSX file; see reason."},
    "problem.records_import_rows.title": {"zh": "导入文件有错误", "en": "Import rows rejected"},
    "problem.records_import_rows.detail": {
        "zh": "有 {count} 处错误（见 errors，含行号），未导入任何记录。",
        "en": "{count} problems (see errors, with line numbers); nothing was imported."},
    "problem.records_error.title": {"zh": "记录错误", "en": "Records error"},
    "problem.records_error.detail": {"zh": "无法处理该记录请求。",
                                     "en": "The records request cannot be processed."},
    # -- records API docs page (/api/docs) --------------------------------------------------
    "records.docs.title": {"zh": "EduTrust 接口文档", "en": "EduTrust API reference"},
    "records.docs.intro": {
        "zh": "本页由 OpenAPI 3.1 描述自动生成，列出 /api/v1 下的全部接口：存证记录的登记、审核、"
              "上链、状态变更、查询、导出与核验。",
        "en": "Generated from the OpenAPI 3.1 description: every endpoint under /api/v1 — "
              "registering, reviewing, anchoring, changing the status of, reading, "
              "exporting and verifying records."},
    "records.docs.auth": {"zh": "认证与授权", "en": "Authentication and authorisation"},
    "records.docs.auth_text": {
        "zh": "调用方使用 EduTrust 身份认证服务签发的访问令牌（Authorization: Bearer）。"
              "学校等机构的系统使用 client_credentials 授权方式（令牌端点 {token_url}），"
              "代表其登记的机构；个人令牌代表本人在目录中的机构与角色。"
              "可代表多个机构时，用 {header} 请求头指明。",
        "en": "Callers send an access token of the EduTrust identity provider "
              "(Authorization: Bearer). A school's system uses the client_credentials grant "
              "(token endpoint {token_url}) and acts for the organisation it was registered "
              "for; a person's token acts through the person's directory memberships. Name "
              "the organisation in the {header} header when you may act for several."},
    "records.docs.scope": {"zh": "权限范围", "en": "Scope"},
    "records.docs.meaning": {"zh": "含义", "en": "Meaning"},
    "records.docs.errors": {"zh": "错误", "en": "Errors"},
    "records.docs.errors_text": {
        "zh": "错误以 RFC 9457 application/problem+json 返回，type 为稳定的 "
              "urn:edutrust:problem:…，title 与 detail 使用请求的语言（Accept-Language）。",
        "en": "Errors are RFC 9457 application/problem+json with a stable type "
              "urn:edutrust:problem:…, and title and detail in the request's language "
              "(Accept-Language)."},
    "records.docs.operations": {"zh": "接口", "en": "Endpoints"},
    "records.docs.public": {"zh": "公开，无需令牌", "en": "Public, no token"},
    "records.docs.needs_scope": {"zh": "所需权限范围（其一）：", "en": "Needs one of:"},
    "records.docs.token": {"zh": "访问令牌", "en": "an access token"},
    "records.docs.parameters": {"zh": "参数", "en": "Parameters"},
    "records.docs.body": {"zh": "请求体", "en": "Request body"},
    "records.docs.responses": {"zh": "响应", "en": "Responses"},
    "records.docs.schemas": {"zh": "数据模型", "en": "Schemas"},
    "records.docs.schemas_text": {
        "zh": "完整定义（含记录内容的 JSON Schema）见 {path}。",
        "en": "The full definitions (record content JSON Schemas included) are in {path}."},
    # -- operator API (admin/web.py) --------------------------------------------------
    "problem.admin_unauthorized.title": {"zh": "需要认证", "en": "Authentication required"},
    "problem.admin_unauthorized.detail": {
        "zh": "请在 Authorization 头中以 Bearer 方式发送本平台签发的访问令牌。",
        "en": "Send an access token of this platform as a Bearer token in the "
              "Authorization header."},
    "problem.admin_invalid_token.title": {"zh": "访问令牌无效", "en": "Invalid access token"},
    "problem.admin_invalid_token.detail": {"zh": "访问令牌无效、已过期或已被撤销。",
                                           "en": "The access token is invalid, expired or "
                                                 "revoked."},
    "problem.admin_insufficient_scope.title": {"zh": "权限范围不足",
                                               "en": "Insufficient scope"},
    "problem.admin_insufficient_scope.detail": {
        "zh": "该请求需要含有以下权限范围之一的访问令牌：{scope}",
        "en": "This request needs an access token with one of the scopes: {scope}"},
    "problem.admin_not_operator.title": {"zh": "仅限运维人员", "en": "Operators only"},
    "problem.admin_not_operator.detail": {
        "zh": "只有运维人员可以执行此操作：令牌所属人员没有 operator 角色，或其客户端未登记为"
              "运维客户端。",
        "en": "Only operators may do this: the token's person does not hold the operator "
              "role, or its client is not registered as an operator client."},
    "problem.admin_json_expected.title": {"zh": "不支持的媒体类型",
                                          "en": "Unsupported media type"},
    "problem.admin_json_expected.detail": {"zh": "请求体须为 application/json。",
                                           "en": "Send the body as application/json."},
    "problem.admin_bad_json.title": {"zh": "JSON 无效", "en": "Invalid JSON"},
    "problem.admin_bad_json.detail": {"zh": "请求体须为一个 JSON 对象：{reason}",
                                      "en": "The body must be one JSON object: {reason}"},
    "problem.admin_invalid_client.title": {"zh": "客户端登记无效",
                                           "en": "Invalid client registration"},
    "problem.admin_invalid_client.detail": {"zh": "客户端登记无效：{reason}",
                                            "en": "The client registration is invalid: "
                                                  "{reason}"},
    "problem.admin_client_not_found.title": {"zh": "客户端不存在", "en": "No such client"},
    "problem.admin_client_not_found.detail": {"zh": "没有该 client_id 的客户端。",
                                              "en": "No client has this client_id."},
    "problem.admin_no_secret.title": {"zh": "该客户端没有密钥", "en": "The client has no secret"},
    "problem.admin_no_secret.detail": {
        "zh": "认证方式为 {method} 的客户端不使用客户端密钥。",
        "en": "Clients authenticating with {method} do not use a client secret."},
    "problem.admin_bad_page.title": {"zh": "分页参数无效", "en": "Invalid page"},
    "problem.admin_bad_page.detail": {"zh": "limit 须为 1 至 1000 的整数，offset 须为非负整数。",
                                      "en": "limit must be a whole number from 1 to 1000 and "
                                            "offset a whole number from 0."},
    "problem.admin_bad_flag.title": {"zh": "参数无效", "en": "Invalid parameter"},
    "problem.admin_bad_flag.detail": {"zh": "{name} 须为 true 或 false。",
                                      "en": "{name} must be true or false."},
    "problem.directory_import_csv_expected.title": {"zh": "不支持的媒体类型",
                                                    "en": "Unsupported media type"},
    "problem.directory_import_csv_expected.detail": {
        "zh": "请以 text/csv 请求体，或以 multipart/form-data 的 file 字段上传 CSV 文件。",
        "en": "Send the CSV file as a text/csv body or as the file field of "
              "multipart/form-data."},
    "problem.directory_import_no_file.title": {"zh": "缺少文件", "en": "No file"},
    "problem.directory_import_no_file.detail": {
        "zh": "multipart/form-data 请求须恰好含有一个名为 file 的文件。",
        "en": "A multipart/form-data request must carry exactly one file, named file."},
    "problem.directory_import_unreadable.title": {"zh": "无法读取文件",
                                                  "en": "Unreadable file"},
    "problem.directory_import_unreadable.detail": {"zh": "无法读取该文件：{reason}",
                                                   "en": "The file cannot be read: {reason}"},
    "problem.directory_import_rejected.title": {"zh": "导入被拒绝", "en": "Import rejected"},
    "problem.directory_import_rejected.detail": {
        "zh": "文件有 {count} 处错误，未导入任何内容（各行错误见 errors）。",
        "en": "{count} problems in the file; nothing was imported (see errors for each "
              "line)."},
    "problem.directory_import_conflict.title": {"zh": "导入冲突", "en": "Import conflict"},
    "problem.directory_import_conflict.detail": {"zh": "导入未完成：{reason}",
                                                 "en": "Nothing was imported: {reason}"},
    "admin.client_secret_member": {
        "zh": "不能在此设置 client_secret，请使用 POST /api/v1/admin/clients/<client_id>/secret",
        "en": "client_secret cannot be set here; use POST "
              "/api/v1/admin/clients/<client_id>/secret"},
    "admin.unknown_members": {"zh": "未知的成员：{members}", "en": "unknown members: {members}"},
    "admin.member_type": {"zh": "{member} 须为 {type}", "en": "{member} must be {type}"},
    "admin.missing_members": {"zh": "缺少必需的成员：{members}",
                              "en": "required members missing: {members}"},
    "admin.operator_needs_client_credentials": {
        "zh": "运维客户端须为使用 client_credentials 的机密客户端",
        "en": "an operator client must be a confidential client with client_credentials"},
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
