import { describe, expect, it } from 'vitest';
import {
  canonicalizeV1,
  percentEncode,
  signV1,
  stringToSignV1,
} from '../../src/emulator/pop/signature-v1.js';

const common = {
  AccessKeyId: 'testid',
  Format: 'XML',
  SignatureMethod: 'HMAC-SHA1',
  SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
  SignatureVersion: '1.0',
  Timestamp: '2016-02-23T12:46:24Z',
};

describe('signV1 reproduces the published vectors', () => {
  it('ECS DescribeRegions (GET)', () => {
    const params = { ...common, Action: 'DescribeRegions', Version: '2014-05-26' };
    expect(signV1('testsecret', 'GET', params)).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('Cloudauth DescribeVerifyToken with a UTF-8 Name (GET)', () => {
    const params = {
      ...common,
      Action: 'DescribeVerifyToken',
      BizId: 'abc1234',
      BizType: 'testforRPBioOnly',
      IdCardNumber: '33010320191201****',
      Name: '张三',
      Version: '2019-03-07',
    };
    expect(signV1('testsecret', 'GET', params)).toBe('hcG5rZI5AHbprhcja7t6N7h4Viw=');
  });

  it("DirectMail SingleSendMail with AccountName <a%b'> (POST)", () => {
    const params = {
      ...common,
      AccountName: "<a%b'>",
      Action: 'SingleSendMail',
      AddressType: '1',
      HtmlBody: '4',
      RegionId: 'cn-hangzhou',
      ReplyToAddress: 'true',
      SignatureNonce: 'c1b2c332-4cfb-4a0f-b8cc-ebe622aa0a5c',
      Subject: '3',
      TagName: '2',
      Timestamp: '2016-10-20T06:27:56Z',
      ToAddress: '1@test.com',
      Version: '2015-11-23',
    };
    expect(signV1('testsecret', 'POST', params)).toBe('llJfXJjBW3OacrVgxxsITgYaYm0=');
  });

  it('ignores a Signature parameter already present', () => {
    const params = { ...common, Action: 'DescribeRegions', Version: '2014-05-26' };
    expect(signV1('testsecret', 'GET', { ...params, Signature: 'x' })).toBe(
      'OLeaidS1JvxuMvnyHOwuJ+uX5qY=',
    );
  });

  it('changes with the method, a value, or the secret', () => {
    const params = { ...common, Action: 'DescribeRegions', Version: '2014-05-26' };
    const expected = 'OLeaidS1JvxuMvnyHOwuJ+uX5qY=';
    expect(signV1('testsecret', 'POST', params)).not.toBe(expected);
    expect(signV1('testsecret', 'GET', { ...params, Format: 'JSON' })).not.toBe(expected);
    expect(signV1('othersecret', 'GET', params)).not.toBe(expected);
  });
});

describe('percentEncode', () => {
  it.each([
    ['a b', 'a%20b'],
    ['*', '%2A'],
    ['~', '~'],
    ["!'()", '%21%27%28%29'],
    ['-_.', '-_.'],
    ['+', '%2B'],
    ['/', '%2F'],
    [':', '%3A'],
    ['=&', '%3D%26'],
    ['%', '%25'],
    ['张三', '%E5%BC%A0%E4%B8%89'],
    ['😀', '%F0%9F%98%80'],
  ])('encodes %j as %s', (input, encoded) => {
    expect(percentEncode(input)).toBe(encoded);
  });
});

describe('the V1 string to sign', () => {
  it('sorts by raw name and double-encodes values', () => {
    const params = { b: 'x y', a: '2016-02-23T12:46:24Z', Signature: 'dropped' };
    expect(canonicalizeV1(params)).toBe('a=2016-02-23T12%3A46%3A24Z&b=x%20y');
    expect(stringToSignV1('get', params)).toBe(
      'GET&%2F&a%3D2016-02-23T12%253A46%253A24Z%26b%3Dx%2520y',
    );
  });

  it('sorts upper-case names before lower-case ones (code-unit order)', () => {
    expect(canonicalizeV1({ b: '1', B: '2', a: '3' })).toBe('B=2&a=3&b=1');
  });
});
