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
