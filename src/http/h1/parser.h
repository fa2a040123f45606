// The strict HTTP/1.1 codec: request and response head parsers and the chunked decoder.
#pragma once

#include "http/h1/chunked.h"
#include "http/h1/head_scanner.h"
#include "http/h1/request_parser.h"
#include "http/h1/response_parser.h"
#include "http/h1/types.h"
