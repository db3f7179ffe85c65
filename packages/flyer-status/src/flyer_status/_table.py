"""Every status code flyer knows: name, aliases, English phrase and description, Chinese text.

Generated once from the standard HTTP registry, flyer's third-party (60x) codes and the
WebSocket close codes; the Chinese text is the one FastFlyer users know. Edit by hand.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple


class CodeInfo(NamedTuple):
    """One status code and its texts."""

    code: int
    name: str
    aliases: Tuple[str, ...]
    phrase: str
    description: str
    zh: str


CODES: Tuple[CodeInfo, ...] = (
    CodeInfo(100, 'HTTP_100_CONTINUE', (), 'Continue', 'Request received, please continue', '继续'),
    CodeInfo(101, 'HTTP_101_SWITCHING_PROTOCOLS', (), 'Switching Protocols', 'Switching to new protocol; obey Upgrade header', '切换协议'),
    CodeInfo(102, 'HTTP_102_PROCESSING', (), 'Processing', 'The server has accepted the request and is still processing it', '处理中'),
    CodeInfo(103, 'HTTP_103_EARLY_HINTS', (), 'Early Hints', 'Preliminary headers sent before the final response', '早期提示'),
    CodeInfo(200, 'HTTP_200_OK', (), 'OK', 'Request fulfilled, document follows', '请求成功'),
    CodeInfo(201, 'HTTP_201_CREATED', (), 'Created', 'Document created, URL follows', '资源创建成功'),
    CodeInfo(202, 'HTTP_202_ACCEPTED', (), 'Accepted', 'Request accepted, processing continues off-line', '请求已接受'),
    CodeInfo(203, 'HTTP_203_NON_AUTHORITATIVE_INFORMATION', (), 'Non-Authoritative Information', 'Request fulfilled from cache', '非权威信息'),
    CodeInfo(204, 'HTTP_204_NO_CONTENT', (), 'No Content', 'Request fulfilled, nothing follows', '无内容返回'),
    CodeInfo(205, 'HTTP_205_RESET_CONTENT', (), 'Reset Content', 'Clear input form for further input', '重置内容'),
    CodeInfo(206, 'HTTP_206_PARTIAL_CONTENT', (), 'Partial Content', 'Partial content follows', '部分内容返回'),
    CodeInfo(207, 'HTTP_207_MULTI_STATUS', (), 'Multi-Status', 'Status for several independent operations, in the body', '多状态'),
    CodeInfo(208, 'HTTP_208_ALREADY_REPORTED', (), 'Already Reported', 'Members of a binding already listed earlier in this response', '已报告'),
    CodeInfo(226, 'HTTP_226_IM_USED', (), 'IM Used', 'Instance manipulations applied to the current instance', 'IM已使用'),
    CodeInfo(300, 'HTTP_300_MULTIPLE_CHOICES', (), 'Multiple Choices', 'Object has several resources -- see URI list', '多种选择'),
    CodeInfo(301, 'HTTP_301_MOVED_PERMANENTLY', (), 'Moved Permanently', 'Object moved permanently -- see URI list', '资源永久重定向'),
    CodeInfo(302, 'HTTP_302_FOUND', (), 'Found', 'Object moved temporarily -- see URI list', '资源临时重定向'),
    CodeInfo(303, 'HTTP_303_SEE_OTHER', (), 'See Other', 'Object moved -- see Method and URL list', '查看其他'),
    CodeInfo(304, 'HTTP_304_NOT_MODIFIED', (), 'Not Modified', 'Document has not changed since given time', '资源未修改'),
    CodeInfo(305, 'HTTP_305_USE_PROXY', (), 'Use Proxy', 'You must use proxy specified in Location to access this resource', '使用代理访问'),
    CodeInfo(306, 'HTTP_306_RESERVED', (), 'Reserved', 'Reserved; formerly Switch Proxy, no longer used', '保留'),
    CodeInfo(307, 'HTTP_307_TEMPORARY_REDIRECT', (), 'Temporary Redirect', 'Object moved temporarily -- see URI list', '临时重定向'),
    CodeInfo(308, 'HTTP_308_PERMANENT_REDIRECT', (), 'Permanent Redirect', 'Object moved permanently -- see URI list', '永久重定向'),
    CodeInfo(400, 'HTTP_400_BAD_REQUEST', (), 'Bad Request', 'Bad request syntax or unsupported method', '请求错误'),
    CodeInfo(401, 'HTTP_401_UNAUTHORIZED', (), 'Unauthorized', 'No permission -- see authorization schemes', '未授权'),
    CodeInfo(402, 'HTTP_402_PAYMENT_REQUIRED', (), 'Payment Required', 'No payment -- see charging schemes', '需要付款'),
    CodeInfo(403, 'HTTP_403_FORBIDDEN', (), 'Forbidden', 'Request forbidden -- authorization will not help', '禁止访问'),
    CodeInfo(404, 'HTTP_404_NOT_FOUND', (), 'Not Found', 'Nothing matches the given URI', '资源未找到'),
    CodeInfo(405, 'HTTP_405_METHOD_NOT_ALLOWED', (), 'Method Not Allowed', 'Specified method is invalid for this resource', '方法不允许'),
    CodeInfo(406, 'HTTP_406_NOT_ACCEPTABLE', (), 'Not Acceptable', 'URI not available in preferred format', '不可接受的内容'),
    CodeInfo(407, 'HTTP_407_PROXY_AUTHENTICATION_REQUIRED', (), 'Proxy Authentication Required', 'You must authenticate with this proxy before proceeding', '需要代理认证'),
    CodeInfo(408, 'HTTP_408_REQUEST_TIMEOUT', (), 'Request Timeout', 'Request timed out; try again later', '请求超时'),
    CodeInfo(409, 'HTTP_409_CONFLICT', (), 'Conflict', 'Request conflict', '冲突'),
    CodeInfo(410, 'HTTP_410_GONE', (), 'Gone', 'URI no longer exists and has been permanently removed', '资源不可用'),
    CodeInfo(411, 'HTTP_411_LENGTH_REQUIRED', (), 'Length Required', 'Client must specify Content-Length', '需要内容长度'),
    CodeInfo(412, 'HTTP_412_PRECONDITION_FAILED', (), 'Precondition Failed', 'Precondition in headers is false', '前提条件失败'),
    CodeInfo(413, 'HTTP_413_CONTENT_TOO_LARGE', ('HTTP_413_REQUEST_ENTITY_TOO_LARGE', 'HTTP_413_PAYLOAD_TOO_LARGE'), 'Content Too Large', 'Content is too large', '负载过大'),
    CodeInfo(414, 'HTTP_414_URI_TOO_LONG', ('HTTP_414_REQUEST_URI_TOO_LONG',), 'URI Too Long', 'URI is too long', 'URI过长'),
    CodeInfo(415, 'HTTP_415_UNSUPPORTED_MEDIA_TYPE', (), 'Unsupported Media Type', 'Entity body in unsupported format', '不支持的媒体类型'),
    CodeInfo(416, 'HTTP_416_RANGE_NOT_SATISFIABLE', ('HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE',), 'Range Not Satisfiable', 'Cannot satisfy request range', '范围不符合要求'),
    CodeInfo(417, 'HTTP_417_EXPECTATION_FAILED', (), 'Expectation Failed', 'Expect condition could not be satisfied', '预期失败'),
    CodeInfo(418, 'HTTP_418_IM_A_TEAPOT', ('HTTP_418_I_AM_A_TEAPOT',), "I'm a Teapot", 'Server refuses to brew coffee because it is a teapot', '我是茶壶(服务器拒绝冲泡咖啡)'),
    CodeInfo(421, 'HTTP_421_MISDIRECTED_REQUEST', (), 'Misdirected Request', 'Server is not able to produce a response', '误导的请求'),
    CodeInfo(422, 'HTTP_422_UNPROCESSABLE_CONTENT', ('HTTP_422_UNPROCESSABLE_ENTITY',), 'Unprocessable Content', 'The request was well-formed but its content could not be processed', '无法处理的实体'),
    CodeInfo(423, 'HTTP_423_LOCKED', (), 'Locked', 'The resource is locked', '已锁定'),
    CodeInfo(424, 'HTTP_424_FAILED_DEPENDENCY', (), 'Failed Dependency', 'The request failed because a request it depended on failed', '依赖关系失败'),
    CodeInfo(425, 'HTTP_425_TOO_EARLY', (), 'Too Early', 'The server will not process a request that might be replayed', '太早'),
    CodeInfo(426, 'HTTP_426_UPGRADE_REQUIRED', (), 'Upgrade Required', 'The client must switch to another protocol', '需要升级协议'),
    CodeInfo(428, 'HTTP_428_PRECONDITION_REQUIRED', (), 'Precondition Required', 'The origin server requires the request to be conditional', '需要前提条件'),
    CodeInfo(429, 'HTTP_429_TOO_MANY_REQUESTS', (), 'Too Many Requests', 'The user has sent too many requests in a given amount of time ("rate limiting")', '请求过多'),
    CodeInfo(431, 'HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE', (), 'Request Header Fields Too Large', 'The server is unwilling to process the request because its header fields are too large', '请求头字段过大'),
    CodeInfo(451, 'HTTP_451_UNAVAILABLE_FOR_LEGAL_REASONS', (), 'Unavailable For Legal Reasons', 'The server is denying access to the resource as a consequence of a legal demand', '由于法律原因不可用'),
    CodeInfo(500, 'HTTP_500_INTERNAL_SERVER_ERROR', (), 'Internal Server Error', 'Server got itself in trouble', '服务器内部错误'),
    CodeInfo(501, 'HTTP_501_NOT_IMPLEMENTED', (), 'Not Implemented', 'Server does not support this operation', '功能未实现'),
    CodeInfo(502, 'HTTP_502_BAD_GATEWAY', (), 'Bad Gateway', 'Invalid responses from another server/proxy', '网关错误'),
    CodeInfo(503, 'HTTP_503_SERVICE_UNAVAILABLE', (), 'Service Unavailable', 'The server cannot process the request due to a high load', '服务不可用'),
    CodeInfo(504, 'HTTP_504_GATEWAY_TIMEOUT', (), 'Gateway Timeout', 'The gateway server did not receive a timely response', '网关超时'),
    CodeInfo(505, 'HTTP_505_HTTP_VERSION_NOT_SUPPORTED', (), 'HTTP Version Not Supported', 'Cannot fulfill request', '不支持的HTTP版本'),
    CodeInfo(506, 'HTTP_506_VARIANT_ALSO_NEGOTIATES', (), 'Variant Also Negotiates', "The server's content negotiation is misconfigured", '可协商的变体'),
    CodeInfo(507, 'HTTP_507_INSUFFICIENT_STORAGE', (), 'Insufficient Storage', 'The server cannot store what the request needs', '存储空间不足'),
    CodeInfo(508, 'HTTP_508_LOOP_DETECTED', (), 'Loop Detected', 'The server found an infinite loop while processing the request', '检测到循环'),
    CodeInfo(510, 'HTTP_510_NOT_EXTENDED', (), 'Not Extended', 'Further extensions to the request are required', '未扩展'),
    CodeInfo(511, 'HTTP_511_NETWORK_AUTHENTICATION_REQUIRED', (), 'Network Authentication Required', 'The client needs to authenticate to gain network access', '需要网络认证'),
    CodeInfo(600, 'HTTP_600_THIRD_PARTY_ERROR', (), 'Third Party Error', 'A call to a third-party service failed', '请求第三方服务错误'),
    CodeInfo(601, 'HTTP_601_THIRD_PARTY_STATUS_ERROR', (), 'Third Party Status Error', 'A third-party service answered with an error status code', '请求第三方服务返回状态码异常'),
    CodeInfo(602, 'HTTP_602_THIRD_PARTY_DATA_ERROR', (), 'Third Party Data Error', 'A third-party service answered with data that could not be used', '请求第三方服务返回数据异常'),
    CodeInfo(603, 'HTTP_603_THIRD_PARTY_UNAVAILABLE_ERROR', (), 'Third Party Unavailable', 'A third-party service is unavailable', '请求第三方服务不可用异常'),
    CodeInfo(604, 'HTTP_604_THIRD_PARTY_TIMEOUT_ERROR', (), 'Third Party Timeout', 'A call to a third-party service timed out', '请求第三方服务超时异常'),
    CodeInfo(605, 'HTTP_605_THIRD_PARTY_NETWORK_ERROR', ('HTTP_605_THIRD_PARTY_NEWORK_ERROR',), 'Third Party Network Error', 'A network error prevented reaching a third-party service', '请求第三方服务网络异常'),
    CodeInfo(606, 'HTTP_606_THIRD_PARTY_RETRY_ERROR', (), 'Third Party Retry Error', 'A third-party service kept failing after every retry', '第三方服务返回不符合预期重试多次还是失败'),
    CodeInfo(1000, 'WS_1000_NORMAL_CLOSURE', (), 'Normal Closure', 'The connection closed normally', '正常关闭'),
    CodeInfo(1001, 'WS_1001_GOING_AWAY', (), 'Going Away', 'An endpoint is going away (server shutdown or page navigation)', '正在离开'),
    CodeInfo(1002, 'WS_1002_PROTOCOL_ERROR', (), 'Protocol Error', 'An endpoint closed the connection because of a protocol error', '协议错误'),
    CodeInfo(1003, 'WS_1003_UNSUPPORTED_DATA', (), 'Unsupported Data', 'An endpoint received a type of data it cannot accept', '不支持的数据'),
    CodeInfo(1004, 'WS_1004_RESERVED', (), 'Reserved', 'Reserved by RFC 6455; never sent', '保留'),
    CodeInfo(1005, 'WS_1005_NO_STATUS_RCVD', (), 'No Status Received', 'No status code was present in the close frame', '未收到状态'),
    CodeInfo(1006, 'WS_1006_ABNORMAL_CLOSURE', (), 'Abnormal Closure', 'The connection closed without a close frame', '异常关闭'),
    CodeInfo(1007, 'WS_1007_INVALID_FRAME_PAYLOAD_DATA', (), 'Invalid Frame Payload Data', "A message's data was inconsistent with its type", '无效的帧载荷数据'),
    CodeInfo(1008, 'WS_1008_POLICY_VIOLATION', (), 'Policy Violation', "A message violated the endpoint's policy", '策略违规'),
    CodeInfo(1009, 'WS_1009_MESSAGE_TOO_BIG', (), 'Message Too Big', 'A message was too big to process', '消息过大'),
    CodeInfo(1010, 'WS_1010_MANDATORY_EXT', (), 'Mandatory Extension', 'The server did not negotiate an extension the client requires', '强制扩展'),
    CodeInfo(1011, 'WS_1011_INTERNAL_ERROR', (), 'Internal Error', 'The server met an unexpected condition', '内部错误'),
    CodeInfo(1012, 'WS_1012_SERVICE_RESTART', (), 'Service Restart', 'The server is restarting', '服务重启'),
    CodeInfo(1013, 'WS_1013_TRY_AGAIN_LATER', (), 'Try Again Later', 'The server is overloaded; try again later', '请稍后重试'),
    CodeInfo(1014, 'WS_1014_BAD_GATEWAY', (), 'Bad Gateway', 'A gateway received an invalid response from upstream', '网关错误'),
    CodeInfo(1015, 'WS_1015_TLS_HANDSHAKE', (), 'TLS Handshake', 'The TLS handshake failed; never sent in a close frame', 'TLS握手'),
)
